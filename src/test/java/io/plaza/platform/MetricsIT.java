package io.plaza.platform;

import static io.plaza.platform.ItSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code GET /metrics} on the management port of a real node (real Cassandra and Kafka): each meter the operators'
 * dashboards read moves with the traffic that should move it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private NodeUnderTest it;
  private PlazaNode node;
  private ApiClient api;
  private ActorSystem<Void> clients;

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("metrics-clients");
    node = it.node;
    api = it.api;
    clients = it.clients;
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  /** Every sample of the scrape, by its series ({@code name{labels}}). */
  private Map<String, Double> scrape() {
    try {
      var response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort()
          + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
      var samples = new HashMap<String, Double>();
      for (var line : response.body().split("\n")) {
        if (line.isBlank() || line.startsWith("#")) continue;
        int space = line.lastIndexOf(' ');
        samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
      return samples;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static double value(Map<String, Double> samples, String series) {
    return samples.getOrDefault(series, 0.0);
  }

  @Test
  void entityCommandsPersistedEventsPersistLatencyProjectionLagAndHttpStatusesAreCounted() {
    var token = api.token("metrics-owner"); // a POST too: before the first scrape
    var before = scrape();
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"EUR\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var account = opened.json().get("accountId").asText();
    var deposited = api.post("/v1/accounts/" + account + "/deposits", token, "{\"amount\":250}",
        Map.of("Idempotency-Key", "m-1"));
    assertEquals(201, deposited.status(), deposited.toString());
    assertEquals(404, api.get("/v1/accounts/no-such-account", token).status());

    var after = eventually(WAIT, () -> {
      var now = scrape();
      // The ledger-accounts projection (balances, journal, Kafka) handled both events (its lag histogram counts
      // each envelope).
      assertTrue(value(now, "plaza_projection_lag_seconds_count{projection=\"ledger-accounts\"}")
          >= value(before, "plaza_projection_lag_seconds_count{projection=\"ledger-accounts\"}") + 2,
          "ledger-accounts lag");
      return now;
    });
    assertTrue(value(after, "plaza_entity_commands_total{entity=\"LedgerAccount\"}")
        >= value(before, "plaza_entity_commands_total{entity=\"LedgerAccount\"}") + 2, "commands counted");
    assertEquals(value(before, "plaza_entity_events_persisted_total{entity=\"LedgerAccount\"}") + 2,
        value(after, "plaza_entity_events_persisted_total{entity=\"LedgerAccount\"}"), "opened + deposited");
    assertEquals(value(before, "plaza_entity_persist_seconds_count{entity=\"LedgerAccount\",outcome=\"ok\"}") + 2,
        value(after, "plaza_entity_persist_seconds_count{entity=\"LedgerAccount\",outcome=\"ok\"}"));
    assertTrue(value(after, "plaza_entity_persist_seconds_sum{entity=\"LedgerAccount\",outcome=\"ok\"}") > 0);
    // Per route: the template, never the id in the path.
    var opens = "plaza_http_responses_total{method=\"POST\",route=\"/v1/accounts\",status=\"201\"}";
    var deposits = "plaza_http_responses_total{method=\"POST\",route=\"/v1/accounts/{id}/deposits\",status=\"201\"}";
    var unknown = "plaza_http_responses_total{method=\"GET\",route=\"/v1/accounts/{id}\",status=\"404\"}";
    assertEquals(value(before, opens) + 1, value(after, opens));
    assertEquals(value(before, deposits) + 1, value(after, deposits));
    assertEquals(value(before, unknown) + 1, value(after, unknown));
    assertTrue(after.keySet().stream().noneMatch(k -> k.startsWith("plaza_http") && k.contains(account)),
        "no account id in a label");
    assertTrue(after.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes")), "JVM metrics");
  }

  @Test
  void theCassandraDriverAndTheKafkaClientsReportTheirOwnMetrics() {
    api.post("/v1/accounts", api.token("metrics-clients"), "{\"currency\":\"EUR\"}", Map.of());
    eventually(WAIT, () -> {
      var now = scrape();
      // The driver: requests (a timer), connections per node, errors per node.
      assertTrue(now.keySet().stream().anyMatch(k -> k.startsWith("cassandra_session_cql_requests_seconds_count")),
          "driver request timer: " + names(now, "cassandra"));
      assertTrue(value(now, now.keySet().stream().filter(k -> k.startsWith("cassandra_session_connected_nodes"))
          .findFirst().orElse("none")) >= 1, "connected nodes");
      assertTrue(now.keySet().stream().anyMatch(k -> k.startsWith("cassandra_nodes_pool_open_connections")));
      // The producer and the consumers (the timeline fan-out reads plaza.timeline.posts).
      assertTrue(now.keySet().stream().anyMatch(k -> k.startsWith("kafka_producer_record_send_total")),
          "producer metrics: " + names(now, "kafka_producer"));
      assertTrue(now.keySet().stream()
          .anyMatch(k -> k.startsWith("kafka_consumer_fetch_manager_records_consumed_total")),
          "consumer metrics: " + names(now, "kafka_consumer"));
      return null;
    });
  }

  /**
   * Every metric the Grafana dashboard and the Prometheus alert rules query exists on a real node once it has seen
   * ordinary traffic (a request, a socket, a ledger check): a renamed meter breaks the build, not a dashboard.
   */
  @Test
  void everyMetricTheDashboardAndTheAlertsQueryIsServed() throws Exception {
    var admin = api.token("admin");
    api.post("/v1/accounts", admin, "{\"currency\":\"EUR\"}", Map.of());
    assertEquals(200, api.get("/v1/admin/ledger/check", admin).status());
    var queried = new java.util.TreeSet<String>();
    var yaml = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
    var dashboard = Json.MAPPER.readTree(java.nio.file.Path.of("cluster-config/grafana/plaza-dashboard.json").toFile());
    dashboard.path("panels").forEach(panel -> panel.path("targets").forEach(t ->
        queried.addAll(PromQl.metricNames(t.path("expr").asText()))));
    assertTrue(queried.size() >= 15, "the dashboard was read: " + queried);
    var rules = yaml.readTree(java.nio.file.Path.of("cluster-config/prometheus/plaza-alerts.yml").toFile());
    rules.path("groups").forEach(g -> g.path("rules").forEach(r -> queried.addAll(PromQl.metricNames(
        r.path("expr").asText()))));
    queried.remove("up"); // Prometheus's own, per scrape target
    try (var socket = new WsClient(clients, node.httpPort(), "/v1/chat/ws", api.token("metrics-dashboard"))) {
      assertEquals(101, socket.upgradeStatus);
      eventually(WAIT, () -> {
        var served = scrape().keySet().stream().map(k -> k.replaceAll("\\{.*", "")).collect(
            java.util.stream.Collectors.toSet());
        var missing = queried.stream().filter(name -> !served.contains(name)).toList();
        assertEquals(java.util.List.of(), missing, "queried by the dashboard or the alerts, not on /metrics");
        return null;
      });
    }
  }

  private static java.util.List<String> names(Map<String, Double> scrape, String prefix) {
    return scrape.keySet().stream().filter(k -> k.startsWith(prefix)).map(k -> k.replaceAll("\\{.*", ""))
        .distinct().sorted().limit(40).toList();
  }

  @Test
  void webSocketConnectionsAreCountedPerEndpointWhileOpen() {
    var series = "plaza_websocket_connections{endpoint=\"chat\"}";
    double before = value(scrape(), series);
    try (var first = new WsClient(clients, node.httpPort(), "/v1/chat/ws", api.token("metrics-a"));
        var second = new WsClient(clients, node.httpPort(), "/v1/chat/ws", api.token("metrics-b"))) {
      assertEquals(101, first.upgradeStatus);
      assertEquals(101, second.upgradeStatus);
      eventually(WAIT, () -> {
        assertEquals(before + 2, value(scrape(), series));
        return null;
      });
    }
    eventually(WAIT, () -> {
      assertEquals(before, value(scrape(), series), "closed connections are no longer counted");
      return null;
    });
  }

  @Test
  void openOffersAndRidesInFlightFollowTheRide() {
    var offered = "plaza_dispatch_rides_active{status=\"offered\"}";
    var accepted = "plaza_dispatch_rides_active{status=\"accepted\"}";
    try (var driver = new WsClient(clients, node.httpPort(), "/v1/dispatch/driver/ws", api.token("metrics-driver"))) {
      driver.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
      assertEquals("available", driver.await("status", WAIT).get("status").asText());
      driver.send(String.format("{\"type\":\"ping\",\"lat\":%f,\"lng\":%f,\"heading\":0,\"speed\":0,\"at\":\"%s\"}",
          48.8566, 2.3522, Instant.now()));
      eventually(WAIT, () -> {
        var me = api.get("/v1/drivers/metrics-driver", api.token("metrics-driver")).json();
        assertTrue(me.path("lastPing").has("location"), me.toString());
        return me;
      });
      var requested = api.post("/v1/rides", api.token("metrics-rider"), "{\"pickup\":{\"lat\":48.8570,\"lng\":2.3522},"
          + "\"dropoff\":{\"lat\":48.87,\"lng\":2.36},\"vehicleType\":\"car\"}", Map.of());
      assertEquals(201, requested.status(), requested.toString());
      var rideId = requested.json().get("rideId").asText();
      assertEquals(rideId, driver.await("offer", WAIT).get("rideId").asText());
      // The driver hears of the offer when it reserved itself; the ride records it a moment later.
      eventually(WAIT, () -> {
        assertEquals(1.0, value(scrape(), offered), "one open offer");
        return null;
      });
      assertTrue(value(scrape(), "plaza_entity_commands_total{entity=\"Ride\"}") >= 1);

      driver.send("{\"type\":\"accept\",\"rideId\":\"" + rideId + "\"}");
      assertEquals("assigned", driver.await("status", WAIT).get("status").asText());
      eventually(WAIT, () -> {
        var now = scrape();
        assertEquals(0.0, value(now, offered), "the offer was taken");
        assertEquals(1.0, value(now, accepted), "one ride on its way to the pickup");
        return now;
      });
    }
  }

  @Test
  void homeReadsSayWhereTheirPageCameFromAndCountTheirOwnStatements() {
    var token = api.token("metrics-reader");
    var memory = "plaza_timeline_home_reads_total{from=\"memory\"}";
    var tables = "plaza_timeline_home_reads_total{from=\"tables\"}";
    var statements = "plaza_read_path_statements_total{path=\"home-timeline\"}";
    var before = scrape();
    long firstRead = System.nanoTime();
    for (int i = 0; i < 3; i++) assertEquals(200, api.get("/v1/timeline/home?limit=5", token).status());
    var afterFirstPages = scrape();
    // The first read loads the feed (and registers the new user); the next two come from memory and read no table.
    assertEquals(value(before, memory) + 3, value(afterFirstPages, memory), "first pages from the feed");
    double firstReads = value(afterFirstPages, statements) - value(before, statements);
    assertTrue(firstReads >= 2, "the feed's load read the rows and the hidden authors: " + firstReads);
    assertEquals(200, api.get("/v1/timeline/home?limit=5", token).status());
    // The node re-reads its list of celebrities every 10 s (for all its home reads): only then may one statement show.
    boolean celebritiesReread = System.nanoTime() - firstRead > Duration.ofSeconds(9).toNanos();
    assertTrue(value(scrape(), statements) - value(afterFirstPages, statements) <= (celebritiesReread ? 1 : 0),
        "a first page from memory reads no table");
    var cursor = new io.plaza.timeline.TimelineCursor(java.time.Instant.now(), "someone:1").encode();
    assertEquals(200, api.get("/v1/timeline/home?limit=5&cursor=" + cursor, token).status());
    var end = scrape();
    assertEquals(value(before, tables) + 1, value(end, tables), "a later page from the tables");
    assertTrue(value(end, statements) > value(afterFirstPages, statements));
  }

  @Test
  void theFanOutAndPushConsumerGroupsEachHaveALagGauge() {
    // The figure itself (the sum of the consumer's per-partition records-lag) is unit-tested in MetricsTest; here:
    // both consumers of a real node expose it under their own group.
    eventually(WAIT, () -> {
      var lags = scrape().keySet().stream().filter(k -> k.startsWith("plaza_kafka_consumer_lag{")).sorted().toList();
      assertEquals(2, lags.size(), "fan-out and push-notification groups: " + lags);
      assertTrue(lags.stream().anyMatch(k -> k.contains("timeline")) && lags.stream().anyMatch(k -> k.contains("push")),
          lags.toString());
      return lags;
    });
  }

  @Test
  void administratorsSeeTheClusterAndTheNodesFiguresInOneOverview() {
    assertEquals(403, api.get("/v1/ops/overview", api.token("ops-curious")).status(), "for administrators only");
    api.get("/v1/accounts/no-such-account", api.token("ops-curious")); // one more answer to count
    var response = api.get("/v1/ops/overview", api.token("admin"));
    assertEquals(200, response.status(), response.toString());
    var overview = response.json();
    var members = overview.get("members");
    assertEquals(1, members.size(), members.toString());
    assertEquals("Up", members.get(0).get("status").asText());
    assertTrue(members.get(0).get("reachable").asBoolean() && members.get(0).get("self").asBoolean());
    assertEquals(overview.get("node").asText(), members.get(0).get("address").asText());
    assertTrue(overview.get("httpResponses").asLong() >= 2, overview.toString());
    double serverErrors = scrape().entrySet().stream().filter(e -> e.getKey().startsWith("plaza_http_responses_total{")
        && e.getKey().contains("status=\"5")).mapToDouble(Map.Entry::getValue).sum();
    assertEquals(serverErrors, overview.get("httpServerErrors").asDouble(), 0.0, "5xx as counted on /metrics");
    assertTrue(overview.get("heapUsedBytes").asLong() > 0);
    assertTrue(overview.get("projections").isArray() && overview.get("consumers").isArray());
  }
}
