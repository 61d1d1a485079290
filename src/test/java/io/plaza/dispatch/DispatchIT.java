package io.plaza.dispatch;

import static io.plaza.platform.ItSupport.assertProblem;
import static io.plaza.platform.ItSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.ApiClient;
import io.plaza.platform.ItSupport;
import io.plaza.platform.NodeUnderTest;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import io.plaza.platform.WsClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Dispatch on one node over the real Cassandra and Kafka with real WebSocket clients: matching, offers, declines and
 * timeouts, staleness, concurrent riders, the trip histories and the Kafka topic, bad input. Each test works in its
 * own city, so drivers of one test are never candidates in another.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatchIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private NodeUnderTest it;
  private PlazaNode node;
  private ApiClient api;
  private ActorSystem<Void> clients;

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("dispatch-clients");
    node = it.node;
    api = it.api;
    clients = it.clients;
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  /** A driver app: its WebSocket, online, with one ping at {@code lat}/{@code lng}. */
  private final class DriverApp implements AutoCloseable {
    final String id;
    final WsClient ws;
    double lat;
    double lng;
    Instant lastAt;

    DriverApp(String id, double lat, double lng) {
      this.id = id;
      this.ws = new WsClient(clients, node.httpPort(), "/v1/dispatch/driver/ws", api.token(id));
      assertEquals(101, ws.upgradeStatus);
      ws.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
      assertEquals("available", ws.await("status", WAIT).get("status").asText());
      ping(lat, lng);
    }

    void ping(double lat, double lng) {
      // A real device's pings are as far apart in time as the move takes: at the node's 100 m/s cap, a ping sent
      // a few ms after the previous one would be refused as an impossible speed.
      var at = Instant.now();
      if (lastAt != null) {
        double meters = new GeoPoint(this.lat, this.lng).metersTo(new GeoPoint(lat, lng));
        var earliest = lastAt.plusMillis(1 + (long) (meters / 50 * 1000));
        if (at.isBefore(earliest)) at = earliest;
      }
      this.lat = lat;
      this.lng = lng;
      this.lastAt = at;
      ws.send(String.format("{\"type\":\"ping\",\"lat\":%f,\"lng\":%f,\"heading\":90,\"speed\":8,\"at\":\"%s\"}",
          lat, lng, at));
      // A ping is not answered: wait until the node has it.
      eventually(WAIT, () -> {
        var me = api.get("/v1/drivers/" + id, api.token(id)).json();
        assertTrue(Math.abs(me.path("lastPing").path("location").path("lat").asDouble() - lat) < 1e-5, me.toString());
        return me;
      });
    }

    void send(String type, String rideId) {
      ws.send("{\"type\":\"" + type + "\",\"rideId\":\"" + rideId + "\"}");
    }

    JsonNode offer() {
      return ws.await("offer", WAIT);
    }

    @Override
    public void close() {
      ws.send("{\"type\":\"offline\"}");
      ws.close();
    }
  }

  private String requestRide(String rider, double lat, double lng) {
    var response = api.post("/v1/rides", api.token(rider), String.format("{\"pickup\":{\"lat\":%f,\"lng\":%f},"
        + "\"dropoff\":{\"lat\":%f,\"lng\":%f},\"vehicleType\":\"car\"}", lat, lng, lat + 0.02, lng + 0.02), Map.of());
    assertEquals(201, response.status(), response.toString());
    assertEquals("requested", response.json().get("status").asText());
    return response.json().get("rideId").asText();
  }

  private JsonNode ride(String rider, String rideId) {
    var response = api.get("/v1/rides/" + rideId, api.token(rider));
    assertEquals(200, response.status(), response.toString());
    return response.json();
  }

  @Test
  void theNearestDriverGetsTheOfferAndTheRiderSeesEveryStatusUpToTheTripHistories() {
    // Berlin.
    double lat = 52.5200;
    double lng = 13.4050;
    try (var near = new DriverApp("berlin-near", lat + 0.003, lng);
        var far = new DriverApp("berlin-far", lat + 0.012, lng);
        var riderWs = new WsClient(clients, node.httpPort(), "/v1/dispatch/rider/ws", api.token("berlin-rider"))) {
      assertEquals(101, riderWs.upgradeStatus);
      var rideId = requestRide("berlin-rider", lat, lng);
      var offer = near.offer();
      assertEquals(rideId, offer.get("rideId").asText());
      assertTrue(offer.get("fareCents").asLong() >= 500, offer.toString());
      assertTrue(Instant.parse(offer.get("deadline").asText()).isAfter(Instant.now()));
      near.send("accept", rideId);
      assertEquals("assigned", near.ws.await("status", WAIT).get("status").asText());
      var accepted = riderWs.await(f -> f.path("type").asText().equals("ride")
          && f.path("status").asText().equals("accepted"), WAIT);
      assertEquals("berlin-near", accepted.get("driverId").asText());
      assertTrue(far.ws.drain(Duration.ofMillis(300)).stream().noneMatch(f -> f.path("type").asText()
          .equals("offer")), "the farther driver was not offered");
      for (var stage : List.of("arrived", "started", "completed")) {
        near.send(stage, rideId);
        assertEquals(stage, near.ws.await("ride", WAIT).get("status").asText());
        riderWs.await(f -> f.path("status").asText().equals(stage), WAIT);
      }
      var done = ride("berlin-rider", rideId);
      assertEquals("completed", done.get("status").asText());
      assertEquals("berlin-near", done.get("driverId").asText());
      assertEquals("completed", ride("berlin-near", rideId).get("status").asText(), "the driver sees its ride");
      assertProblem(404, api.get("/v1/rides/" + rideId, api.token("berlin-stranger")), "no ride");

      // The histories (projection) and the Kafka topic, keyed by ride id.
      eventually(WAIT, () -> {
        var trips = api.get("/v1/riders/berlin-rider/trips", api.token("berlin-rider")).json().get("items");
        assertEquals(1, trips.size(), trips.toString());
        assertEquals("completed", trips.get(0).get("status").asText());
        var driven = api.get("/v1/drivers/berlin-near/trips", api.token("berlin-near")).json().get("items");
        assertEquals(rideId, driven.get(0).get("rideId").asText());
        assertEquals("completed", driven.get(0).get("status").asText());
        return trips;
      });
      assertProblem(403, api.get("/v1/riders/berlin-rider/trips", api.token("berlin-near")), "your own");
      var messages = ItSupport.readTopic(TestNodes.RIDES_TOPIC, rideId, 6, WAIT);
      assertEquals(List.of("requested", "offered", "accepted", "arrived", "started", "completed"),
          messages.stream().map(m -> m.get("status").asText()).toList());
    }
  }

  @Test
  void aDeclineAndATimeoutMoveTheOfferOnAndAStaleDriverIsNeverOffered() throws Exception {
    // Paris.
    double lat = 48.8566;
    double lng = 2.3522;
    try (var stale = new DriverApp("paris-stale", lat + 0.001, lng)) {
      Thread.sleep(6_000); // stale after 5 s without a ping (test config)
      try (var decliner = new DriverApp("paris-decliner", lat + 0.003, lng);
          var sleeper = new DriverApp("paris-sleeper", lat + 0.006, lng);
          var taker = new DriverApp("paris-taker", lat + 0.009, lng)) {
        var rideId = requestRide("paris-rider", lat, lng);
        assertEquals(rideId, decliner.offer().get("rideId").asText());
        decliner.send("decline", rideId);
        assertEquals(rideId, sleeper.offer().get("rideId").asText());
        // The sleeper never answers: after the 4 s window the offer ends and moves on.
        assertEquals("expired", sleeper.ws.await("offer_ended", WAIT).get("reason").asText());
        assertEquals(rideId, taker.offer().get("rideId").asText());
        taker.send("accept", rideId);
        eventually(WAIT, () -> {
          assertEquals("paris-taker", ride("paris-rider", rideId).path("driverId").asText());
          return null;
        });
        assertTrue(stale.ws.drain(Duration.ofMillis(200)).stream().noneMatch(f -> f.path("type").asText()
            .equals("offer")), "the stale driver, though nearest, was never offered");
        // Too late now: the sleeper's accept is refused with a reason, and its connection stays usable.
        sleeper.send("accept", rideId);
        assertEquals("offer-expired", sleeper.ws.await("error", WAIT).get("code").asText());
      }
    }
  }

  @Test
  void manyRidersAtOnceAgainstFewDriversNeverShareADriver() throws Exception {
    // Madrid: 3 eager drivers accept every offer; 15 riders request at once.
    double lat = 40.4168;
    double lng = -3.7038;
    var stop = new AtomicBoolean();
    // Blocking clients: their own threads (the common pool has one thread on this machine).
    var threads = java.util.concurrent.Executors.newCachedThreadPool();
    var drivers = new ArrayList<DriverApp>();
    var acceptors = new ArrayList<CompletableFuture<Void>>();
    try {
      for (int i = 0; i < 3; i++) drivers.add(new DriverApp("madrid-d" + i, lat + 0.002 * (i + 1), lng));
      for (var d : drivers) {
        acceptors.add(CompletableFuture.runAsync(() -> {
          while (!stop.get()) {
            try {
              d.send("accept", d.ws.await("offer", Duration.ofSeconds(1)).get("rideId").asText());
            } catch (AssertionError noOfferYet) {
              // keep waiting
            }
          }
        }, threads));
      }
      var requests = new ArrayList<CompletableFuture<String>>();
      for (int i = 0; i < 15; i++) {
        var rider = "madrid-r" + i;
        requests.add(CompletableFuture.supplyAsync(() -> requestRide(rider, lat, lng), threads));
      }
      var rides = new HashMap<String, String>();
      for (int i = 0; i < 15; i++) rides.put(requests.get(i).get(), "madrid-r" + i);
      var outcome = eventually(Duration.ofSeconds(60), () -> {
        var byRide = new HashMap<String, JsonNode>();
        rides.forEach((rideId, rider) -> {
          var r = ride(rider, rideId);
          var status = r.get("status").asText();
          assertTrue(status.equals("accepted") || status.equals("no_drivers_available"), rideId + " " + status);
          byRide.put(rideId, r);
        });
        return byRide;
      });
      var assigned = outcome.values().stream().filter(r -> r.get("status").asText().equals("accepted")).toList();
      assertEquals(3, assigned.size(), "each of the 3 drivers got one ride");
      assertEquals(3, assigned.stream().map(r -> r.get("driverId").asText()).distinct().count(),
          "no driver was assigned twice");
      for (var r : assigned) {
        var driverId = r.get("driverId").asText();
        var me = api.get("/v1/drivers/" + driverId, api.token(driverId)).json();
        assertEquals(r.get("rideId").asText(), me.get("rideId").asText(), "the driver agrees: " + me);
      }
    } finally {
      stop.set(true);
      for (var a : acceptors) a.get();
      drivers.forEach(DriverApp::close);
      threads.shutdown();
    }
  }

  @Test
  void badFramesAndBadRequestsGetClearErrorsAndTheConnectionStaysOpen() {
    try (var d = new DriverApp("lisbon-driver", 38.7223, -9.1393)) {
      d.ws.send("not json");
      assertEquals("invalid-request", d.ws.await("error", WAIT).get("code").asText());
      d.ws.send("{\"type\":\"teleport\"}");
      assertTrue(d.ws.await("error", WAIT).get("detail").asText().contains("unknown frame type"));
      d.ws.send("{\"type\":\"ping\",\"lat\":38.7}");
      assertTrue(d.ws.await("error", WAIT).get("detail").asText().contains("lat, lng, heading, speed and at"));
      d.ws.send(String.format("{\"type\":\"ping\",\"lat\":95,\"lng\":0,\"heading\":0,\"speed\":0,\"at\":\"%s\"}",
          Instant.now()));
      assertEquals("unprocessable", d.ws.await("error", WAIT).get("code").asText());
      // Five degrees of latitude in a second.
      d.ws.send(String.format("{\"type\":\"ping\",\"lat\":43.72,\"lng\":-9.1393,\"heading\":0,\"speed\":10,"
          + "\"at\":\"%s\"}", Instant.now().plusMillis(500)));
      assertTrue(d.ws.await("error", WAIT).get("detail").asText().contains("impossible speed"));
      d.ws.send("{\"type\":\"accept\",\"rideId\":\"nope\"}");
      assertTrue(d.ws.await("error", WAIT).get("detail").asText().contains("rideId"));
      d.ping(38.7224, -9.1393); // still connected and served
      // Idempotent request: the same key names the same ride.
      var rider = api.token("lisbon-rider");
      var body = "{\"pickup\":{\"lat\":38.7224,\"lng\":-9.1393},\"dropoff\":{\"lat\":38.73,\"lng\":-9.13},"
          + "\"vehicleType\":\"car\"}";
      var first = api.post("/v1/rides", rider, body, Map.of("Idempotency-Key", "lisbon-1"));
      var again = api.post("/v1/rides", rider, body, Map.of("Idempotency-Key", "lisbon-1"));
      assertEquals(first.json().get("rideId"), again.json().get("rideId"));
      // The rider cancels while the driver holds the offer: the driver is told; a second cancel is a retry.
      var rideId = first.json().get("rideId").asText();
      assertEquals(rideId, d.offer().get("rideId").asText());
      assertEquals("cancelled", api.post("/v1/rides/" + rideId + "/cancel", rider, "", Map.of()).json()
          .get("status").asText());
      assertEquals("cancelled by the rider", d.ws.await("offer_ended", WAIT).get("reason").asText());
      assertEquals(200, api.post("/v1/rides/" + rideId + "/cancel", rider, "", Map.of()).status());
      assertProblem(404, api.post("/v1/rides/" + rideId + "/cancel", api.token("lisbon-other"), "", Map.of()),
          "no ride");
    }
    var rider = api.token("lisbon-rider");
    assertProblem(400, api.post("/v1/rides", rider, "{\"pickup\":{\"lat\":1,\"lng\":2}}", Map.of()), "required");
    assertProblem(400, api.post("/v1/rides", rider, "{\"pickup\":{\"lat\":91,\"lng\":2},\"dropoff\":{\"lat\":1,"
        + "\"lng\":2},\"vehicleType\":\"car\"}", Map.of()), "lat");
    assertProblem(400, api.post("/v1/rides", rider, "{\"pickup\":{\"lat\":1,\"lng\":2},\"dropoff\":{\"lat\":1,"
        + "\"lng\":2.01},\"vehicleType\":\"rocket\"}", Map.of()), "vehicleType");
    assertProblem(422, api.post("/v1/rides", rider, "{\"pickup\":{\"lat\":1,\"lng\":2},\"dropoff\":{\"lat\":10,"
        + "\"lng\":2},\"vehicleType\":\"car\"}", Map.of()), "km");
    assertProblem(400, api.post("/v1/rides", rider, "{\"pickup\":\"here\"}", Map.of()), "");
    assertProblem(404, api.get("/v1/rides/not-a-ride", rider), "ride id");
    assertProblem(404, api.get("/v1/rides/00000000-0000-0000-0000-000000000000", rider), "no ride");
    assertProblem(400, api.get("/v1/dispatch/surge?lat=x&lng=2", rider), "lat");
    assertProblem(400, api.get("/v1/riders/lisbon-rider/trips?cursor=zzz", rider), "cursor");
    // The surge quote counted the request in its cell.
    var surge = api.get("/v1/dispatch/surge?lat=38.7224&lng=-9.1393", rider).json();
    assertTrue(surge.get("requests").asInt() >= 1, surge.toString());
  }

  @Test
  void theMapShowsTheCellsAroundAPositionWithTheirAvailableDriversAnonymously() {
    // Madrid.
    double lat = 40.4168;
    double lng = -3.7038;
    var viewer = api.token("madrid-viewer");
    try (var driver = new DriverApp("madrid-driver", lat + 0.00123456, lng)) {
      var map = eventually(WAIT, () -> {
        var r = api.get(String.format("/v1/dispatch/nearby?lat=%f&lng=%f&rings=1", lat, lng), viewer);
        assertEquals(200, r.status(), r.toString());
        var drivers = new ArrayList<JsonNode>();
        r.json().get("cells").forEach(c -> c.get("drivers").forEach(drivers::add));
        assertEquals(1, drivers.size(), r.json().toString());
        return r.json();
      });
      var cells = map.get("cells");
      assertEquals(7, cells.size(), "the center cell and its first ring");
      var center = cells.get(0);
      assertEquals(map.get("center").asText(), center.get("cell").asText());
      assertEquals(0, center.get("ring").asInt());
      assertEquals(6, center.get("boundary").size(), "a hexagon's corners");
      var shown = center.get("drivers").size() == 1 ? center.get("drivers").get(0) : null;
      if (shown == null) {
        for (var c : cells) if (c.get("drivers").size() == 1) shown = c.get("drivers").get(0);
      }
      assertEquals("car", shown.get("vehicleType").asText());
      // Rounded to about 10 m, and nothing that names the driver.
      assertEquals(Math.round((lat + 0.00123456) * 10_000) / 10_000.0, shown.get("location").get("lat").asDouble(),
          1e-9);
      assertTrue(!shown.toString().contains("madrid-driver") && !map.toString().contains("madrid-driver"),
          shown.toString());
    }
    assertProblem(400, api.get("/v1/dispatch/nearby?lat=40&lng=-3&rings=4", viewer), "rings must be 0 to 3");
    assertProblem(400, api.get("/v1/dispatch/nearby?lat=north&lng=-3", viewer), "lat");
    assertProblem(400, api.get("/v1/dispatch/nearby?lng=-3", viewer), "lat");
    assertEquals(401, api.get("/v1/dispatch/nearby?lat=40&lng=-3", null).status());
  }

  @Test
  void aRideSurvivesARestartMidOffer() {
    // Rome, on nodes of its own (same keyspace): the ride is offered, the node stops, the new node carries on.
    double lat = 41.9028;
    double lng = 12.4964;
    String rideId;
    try (var first = TestNodes.start()) {
      var firstApi = new ApiClient(first.httpPort());
      var ws = new WsClient(clients, first.httpPort(), "/v1/dispatch/driver/ws", firstApi.token("rome-silent"));
      ws.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
      ws.await("status", WAIT);
      ws.send(String.format("{\"type\":\"ping\",\"lat\":%f,\"lng\":%f,\"heading\":0,\"speed\":0,\"at\":\"%s\"}",
          lat + 0.001, lng, Instant.now()));
      var response = eventually(WAIT, () -> {
        var r = firstApi.post("/v1/rides", firstApi.token("rome-rider"), String.format("{\"pickup\":{\"lat\":%f,"
            + "\"lng\":%f},\"dropoff\":{\"lat\":%f,\"lng\":%f},\"vehicleType\":\"car\"}", lat, lng, lat + 0.01, lng),
            Map.of("Idempotency-Key", "rome-1"));
        assertEquals(201, r.status());
        return r;
      });
      rideId = response.json().get("rideId").asText();
      assertEquals(rideId, ws.await("offer", WAIT).get("rideId").asText());
      ws.close();
    }
    try (var second = TestNodes.start()) {
      var secondApi = new ApiClient(second.httpPort());
      var ws = new WsClient(clients, second.httpPort(), "/v1/dispatch/driver/ws", secondApi.token("rome-new"));
      ws.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
      ws.await("status", WAIT);
      ws.send(String.format("{\"type\":\"ping\",\"lat\":%f,\"lng\":%f,\"heading\":0,\"speed\":0,\"at\":\"%s\"}",
          lat + 0.004, lng, Instant.now()));
      // Nobody touches the ride: the restarted entity's persisted deadline passes and matching goes on by itself.
      var offer = ws.await("offer", Duration.ofSeconds(40));
      assertEquals(rideId, offer.get("rideId").asText());
      ws.send("{\"type\":\"accept\",\"rideId\":\"" + rideId + "\"}");
      eventually(WAIT, () -> {
        var r = secondApi.get("/v1/rides/" + rideId, secondApi.token("rome-rider")).json();
        assertEquals("accepted", r.get("status").asText(), r.toString());
        assertEquals("rome-new", r.get("driverId").asText());
        return r;
      });
      ws.close();
    }
  }
}
