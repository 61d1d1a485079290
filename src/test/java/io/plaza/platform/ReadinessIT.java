package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * /alive and /ready on a real node. Readiness follows Cassandra: the test freezes the build's Cassandra process
 * (SIGSTOP, so it stops answering without losing data), expects /ready to answer 500 "Not Healthy" (Pekko
 * Management's not-ready status) while /alive stays 200, thaws it (SIGCONT) and expects 200 again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReadinessIT {

  private static final Duration WAIT = Duration.ofSeconds(40);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private PlazaNode node;

  @BeforeAll
  void startNode() {
    node = TestNodes.start();
  }

  @AfterAll
  void stopNode() {
    if (node != null) node.close();
  }

  private HttpResponse<String> probe(String check) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + check))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private int status(String check) throws Exception {
    return probe(check).statusCode();
  }

  private void awaitStatus(String check, int expected) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    HttpResponse<String> last;
    do {
      last = probe(check);
      if (last.statusCode() == expected) return;
      Thread.sleep(250);
    } while (System.nanoTime() < deadline);
    assertEquals(expected, last.statusCode(), check + " after " + WAIT.toSeconds() + " s: " + last.body());
  }

  @Test
  void readyOnlyWhileCassandraAnswersAliveThroughout() throws Exception {
    awaitStatus("/ready", 200);
    assertEquals(200, status("/alive"));

    var pidFile = Path.of(System.getProperty("plaza.it.infra-dir", "target/infra"), "cassandra.pid");
    long cassandra = Long.parseLong(Files.readString(pidFile).strip());
    signal("STOP", cassandra);
    try {
      awaitStatus("/ready", 500);
      assertTrue(probe("/ready").body().startsWith("Not Healthy"));
      assertEquals(200, status("/alive"), "liveness must not depend on Cassandra");
    } finally {
      signal("CONT", cassandra);
    }
    awaitStatus("/ready", 200);
  }

  private static void signal(String name, long pid) throws Exception {
    var kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -" + name + " " + pid);
  }
}
