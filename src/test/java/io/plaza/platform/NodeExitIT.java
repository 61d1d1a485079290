package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A node that stops on its own — downed by the cluster, or never let in — exits non-zero, so that its supervisor
 * (Kubernetes, compose's {@code restart: on-failure}) starts a fresh one. Real node processes.
 */
class NodeExitIT {

  private static final Path LOGS = Path.of(System.getProperty("plaza.it.infra-dir", "target"));
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void aNodeDownedByTheClusterExitsWithOne() throws Exception {
    // Membership changes through the management API are off in production; this node allows them for the test.
    try (var node = NodeProcess.start(Map.of("pekko.management.http.route-providers-read-only", "false"),
        LOGS.resolve("node-exit-downed.log"))) {
      var management = "http://127.0.0.1:" + node.ports().management();
      var members = http.send(HttpRequest.newBuilder(URI.create(management + "/cluster/members")).build(),
          HttpResponse.BodyHandlers.ofString());
      var self = new ObjectMapper().readTree(members.body()).get("selfNode").asText();
      var down = http.send(HttpRequest.newBuilder(URI.create(management + "/cluster/members/"
              + URLEncoder.encode(self, StandardCharsets.UTF_8)))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .PUT(HttpRequest.BodyPublishers.ofString("operation=Down")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, down.statusCode(), down.body());
      assertEquals(1, node.awaitExit(Duration.ofSeconds(60)), "exit code of a downed node");
    }
  }

  @Test
  void aNodeWhoseSeedNodesNeverAnswerExitsWithOne() {
    var nowhere = NodeProcess.Ports.free();
    try (var node = NodeProcess.launch(NodeProcess.Ports.free(), Map.of(
            "pekko.cluster.seed-nodes.0", "pekko://Plaza@127.0.0.1:" + nowhere.remoting(),
            "pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes", "5s"),
        LOGS.resolve("node-exit-no-seed.log"), NodeProcess.classpath())) {
      assertEquals(1, node.awaitExit(Duration.ofSeconds(90)), "exit code of a node that could not join");
    }
  }
}
