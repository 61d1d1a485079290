package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus files in cluster-config/prometheus are valid for Prometheus's own checker, and each alert fires on
 * the series that should raise it (promtool's rule unit tests). promtool is Debian's, installed by
 * bin/setup-test-tools before the integration tests.
 */
class AlertRulesIT {

  private static final Path DIR = Path.of("cluster-config", "prometheus");

  private static String promtool(String... args) throws Exception {
    var command = new java.util.ArrayList<String>();
    command.add("promtool");
    command.addAll(java.util.List.of(args));
    var process = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true).start();
    var output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "promtool finished");
    assertEquals(0, process.exitValue(), "promtool " + String.join(" ", args) + ":\n" + output);
    return output;
  }

  @Test
  void theRulesAndTheScrapeConfigurationAreValid() throws Exception {
    assertTrue(promtool("check", "rules", "plaza-alerts.yml").contains("SUCCESS: 8 rules found"));
    promtool("check", "config", "prometheus.yml");
  }

  @Test
  void eachAlertFiresOnItsSeriesAndNotBefore() throws Exception {
    assertTrue(promtool("test", "rules", "plaza-alerts.test.yml").contains("SUCCESS"));
  }
}
