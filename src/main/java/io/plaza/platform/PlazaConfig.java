package io.plaza.platform;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.Arrays;

/**
 * Loads a node's configuration: application.conf with its {@code ${?ENV}} overrides, plus the environment variables
 * HOCON cannot express (a comma-separated list), and -D system properties over everything. {@code -Dconfig.file}
 * picks an overlay instead of application.conf.
 */
public final class PlazaConfig {

  private PlazaConfig() {}

  public static Config load() {
    return load(ConfigFactory.empty());
  }

  /** {@code overrides} go in before resolution, so substitutions such as the keyspace pick them up. */
  public static Config load(Config overrides) {
    var config = overrides;
    var contactPoints = System.getenv("CASSANDRA_CONTACT_POINTS");
    if (contactPoints != null && !contactPoints.isBlank()) {
      config = config.withFallback(ConfigFactory.empty().withValue("datastax-java-driver.basic.contact-points",
          ConfigValueFactory.fromIterable(Arrays.stream(contactPoints.split(",")).map(String::strip)
              .filter(s -> !s.isEmpty()).toList())));
    }
    // defaultApplication() honours -Dconfig.file / -Dconfig.resource: the overlays in cluster-config/ (local nodes,
    // compose, Kubernetes) are chosen that way.
    return ConfigFactory.load(config.withFallback(ConfigFactory.defaultApplication()));
  }
}
