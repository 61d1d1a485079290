package io.plaza.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Json;
import io.plaza.platform.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Drivers, rides and the cell index as real actors on the in-memory journal, reaching each other by id like sharded
 * entities do: matching, offers, declines, timeouts, staleness, cancellation, and no double assignment.
 */
class DispatchEntitiesTest {

  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final GeoPoint PICKUP = new GeoPoint(52.5200, 13.4050);
  private static final GeoPoint DROPOFF = new GeoPoint(52.5300, 13.4200);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static GeoPoint north(double meters) {
    return new GeoPoint(PICKUP.lat() + meters / 111_195.0, PICKUP.lng());
  }

  /** One dispatch world: its own ids, clock, and actors found by id. */
  private static final class World {
    final String prefix = "w" + System.nanoTime() + "-";
    final SettableClock clock = new SettableClock(NOW);
    final H3Cells cells = new H3Cells(8);
    final Map<String, ActorRef<Driver.Command>> drivers = new ConcurrentHashMap<>();
    final Map<String, ActorRef<Ride.Command>> rides = new ConcurrentHashMap<>();
    final Map<String, ActorRef<DispatchCell.Command>> cellIndex = new ConcurrentHashMap<>();
    final TestProbe<Ride.Update> updates = testKit.createTestProbe();
    final Driver.Settings driverSettings = new Driver.Settings(Duration.ofSeconds(30), Duration.ofSeconds(60),
        Duration.ofMillis(500), Duration.ofSeconds(3));
    final Ride.Settings rideSettings;

    World(Duration offerTimeout, int maxOffers) {
      rideSettings = new Ride.Settings(offerTimeout, 2, 5, maxOffers, Duration.ofMillis(200), Duration.ofSeconds(3));
      // Spawned here, on the test's thread: testKit.spawn blocks, which must not happen inside the entities.
      var center = cells.cellOf(PICKUP);
      for (int k = 0; k <= 2; k++) cells.ring(center, k).forEach(this::cell);
    }

    ActorRef<Driver.Command> driver(String id) {
      return drivers.computeIfAbsent(id, d -> testKit.spawn(Driver.create(d, driverSettings, cells, clock,
          this::ride, this::cell)));
    }

    ActorRef<Ride.Command> ride(String id) {
      return rides.computeIfAbsent(id, r -> testKit.spawn(Ride.create(r, rideSettings, cells,
          new DispatchScorer(30 / 3.6, Duration.ofMinutes(15), Duration.ofMinutes(30)), clock, this::driver,
          this::cell, updates.ref()::tell, self -> { })));
    }

    ActorRef<DispatchCell.Command> cell(String id) {
      return cellIndex.computeIfAbsent(id, c -> testKit.spawn(DispatchCell.create(
          new SurgePricing(Duration.ofMinutes(1), 0.5, 3.0), Duration.ofSeconds(30), clock)));
    }

    /** A driver online at {@code at}, with a probe as its connection. */
    TestProbe<String> online(String name, GeoPoint at) {
      var connection = testKit.<String>createTestProbe();
      var probe = testKit.<Driver.Reply>createTestProbe();
      cell(cells.cellOf(at));
      driver(prefix + name).tell(new Driver.GoOnline("car", connection.ref(), probe.ref()));
      assertInstanceOf(Driver.Done.class, probe.receiveMessage());
      driver(prefix + name).tell(new Driver.Report(new Ping(at, 0, 5, clock.instant()), connection.ref()));
      // The ping is not answered: a status read after it (same sender, so in order) shows it was taken.
      assertEquals(at, status(name).lastPing().location());
      return connection;
    }

    String request(String rider) {
      var rideId = UUID.randomUUID().toString();
      var probe = testKit.<Ride.Reply>createTestProbe();
      ride(rideId).tell(new Ride.Request(prefix + rider, PICKUP, DROPOFF, "car", 1.0, 900, probe.ref()));
      assertEquals(Ride.Status.REQUESTED, assertInstanceOf(Ride.RideView.class, probe.receiveMessage()).status());
      return rideId;
    }

    Driver.Reply tellDriver(String name, Function<ActorRef<Driver.Reply>, Driver.Command> command) {
      var probe = testKit.<Driver.Reply>createTestProbe();
      driver(prefix + name).tell(command.apply(probe.ref()));
      return probe.receiveMessage(Duration.ofSeconds(5));
    }

    Driver.DriverStatus status(String name) {
      return assertInstanceOf(Driver.DriverStatus.class, tellDriver(name, Driver.GetStatus::new));
    }

    Ride.RideView view(String rideId, String user) {
      var probe = testKit.<Ride.Reply>createTestProbe();
      ride(rideId).tell(new Ride.Get(prefix + user, probe.ref()));
      return assertInstanceOf(Ride.RideView.class, probe.receiveMessage());
    }

    /** Waits for the ride's status to become {@code status} (its updates are published as it moves). */
    Ride.Update awaitStatus(String rideId, Ride.Status status) {
      return updates.fishForMessage(Duration.ofSeconds(10), u -> u.rideId().equals(rideId) && u.status() == status
          ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
          : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore()).get(0);
    }
  }

  private static JsonNode frame(TestProbe<String> connection, String type) {
    try {
      while (true) {
        var json = Json.MAPPER.readTree(connection.receiveMessage(Duration.ofSeconds(10)));
        if (json.get("type").asText().equals(type)) return json;
      }
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theNearestDriverGetsTheOfferAndAcceptingAssignsTheRide() {
    var world = new World(Duration.ofSeconds(15), 5);
    var near = world.online("near", north(300));
    var far = world.online("far", north(1_500));
    var rideId = world.request("rider");
    var offer = frame(near, "offer");
    assertEquals(rideId, offer.get("rideId").asText());
    assertEquals(900, offer.get("fareCents").asLong());
    world.awaitStatus(rideId, Ride.Status.OFFERED);
    assertInstanceOf(Driver.Done.class, world.tellDriver("near", r -> new Driver.Respond(rideId, true, r)));
    var accepted = world.awaitStatus(rideId, Ride.Status.ACCEPTED);
    assertEquals(world.prefix + "near", accepted.driverId());
    assertEquals(Driver.Status.ASSIGNED, world.status("near").status());
    assertEquals(Driver.Status.AVAILABLE, world.status("far").status());
    far.expectNoMessage(Duration.ofMillis(200));
    // The driver sees the ride; a stranger does not.
    assertEquals(Ride.Status.ACCEPTED, world.view(rideId, "near").status());
    var probe = testKit.<Ride.Reply>createTestProbe();
    world.ride(rideId).tell(new Ride.Get(world.prefix + "stranger", probe.ref()));
    assertInstanceOf(Ride.Rejected.class, probe.receiveMessage());

    // Through the trip: arrived, started, completed; the driver is available again.
    for (var stage : List.of(Driver.Stage.ARRIVED, Driver.Stage.STARTED, Driver.Stage.COMPLETED)) {
      assertInstanceOf(Driver.Done.class, world.tellDriver("near", r -> new Driver.Progress(rideId, stage, r)));
    }
    world.awaitStatus(rideId, Ride.Status.COMPLETED);
    assertEquals(Driver.Status.AVAILABLE, world.status("near").status());
  }

  @Test
  void aDeclineAndATimeoutEachMoveTheOfferToTheNextCandidate() {
    var world = new World(Duration.ofMillis(800), 5);
    var first = world.online("first", north(200));
    var second = world.online("second", north(700));
    var third = world.online("third", north(1_400));
    var rideId = world.request("rider");
    frame(first, "offer");
    assertInstanceOf(Driver.Done.class, world.tellDriver("first", r -> new Driver.Respond(rideId, false, r)));
    frame(second, "offer");
    // Second never answers: its offer ends at the deadline and third gets it.
    assertEquals("expired", frame(second, "offer_ended").get("reason").asText());
    frame(third, "offer");
    assertEquals(Driver.Status.AVAILABLE, world.status("second").status());
    // Too late: second's accept is refused, third's goes through.
    var late = world.tellDriver("second", r -> new Driver.Respond(rideId, true, r));
    assertInstanceOf(Driver.Rejected.class, late);
    assertInstanceOf(Driver.Done.class, world.tellDriver("third", r -> new Driver.Respond(rideId, true, r)));
    assertEquals(world.prefix + "third", world.awaitStatus(rideId, Ride.Status.ACCEPTED).driverId());
  }

  @Test
  void aStaleDriverIsNeverOfferedAndNoCandidateEndsTheRide() {
    var world = new World(Duration.ofSeconds(15), 5);
    var stale = world.online("stale", north(100));
    world.clock.set(NOW.plusSeconds(31)); // not heard from for 31 s
    var rideId = world.request("rider");
    world.awaitStatus(rideId, Ride.Status.NO_DRIVERS_AVAILABLE);
    stale.expectNoMessage(Duration.ofMillis(200));
    // A driver beyond the search rings (2 rings of ~900 m) is not found either.
    world.online("remote", north(20_000));
    world.awaitStatus(world.request("rider2"), Ride.Status.NO_DRIVERS_AVAILABLE);
  }

  @Test
  void theSearchWidensRingByRingToReachADriverFurtherOut() {
    var world = new World(Duration.ofSeconds(15), 5);
    var outside = north(1_200);
    assertTrue(!world.cells.cellOf(outside).equals(world.cells.cellOf(PICKUP)), "not in the pickup cell");
    var out = world.online("rings-out", outside);
    var rideId = world.request("rider");
    assertEquals(rideId, frame(out, "offer").get("rideId").asText());
  }

  @Test
  void manyRidersAgainstFewDriversNeverShareADriver() {
    var world = new World(Duration.ofSeconds(5), 10);
    int driverCount = 3;
    int rideCount = 12;
    for (int i = 0; i < driverCount; i++) {
      var id = world.prefix + "d" + i;
      // Each driver's connection accepts every offer at once, like an eager driver app.
      var connection = testKit.spawn(Behaviors.<String>receive((ctx, json) -> {
        var frame = Json.MAPPER.readTree(json);
        if (frame.get("type").asText().equals("offer")) {
          world.driver(id).tell(new Driver.Respond(frame.get("rideId").asText(), true, ctx.getSystem().ignoreRef()));
        }
        return Behaviors.same();
      }));
      var probe = testKit.<Driver.Reply>createTestProbe();
      world.driver(id).tell(new Driver.GoOnline("car", connection, probe.ref()));
      probe.receiveMessage();
      world.driver(id).tell(new Driver.Report(new Ping(north(100 + 200 * i), 0, 0, NOW), connection));
    }
    var rideIds = new ArrayList<String>();
    for (int i = 0; i < rideCount; i++) rideIds.add(world.request("rider" + i));
    var outcome = new HashMap<String, Ride.Update>();
    while (outcome.size() < rideCount) {
      var update = world.updates.receiveMessage(Duration.ofSeconds(15));
      if (update.status() == Ride.Status.ACCEPTED || update.status() == Ride.Status.NO_DRIVERS_AVAILABLE) {
        outcome.put(update.rideId(), update);
      }
    }
    var assigned = outcome.values().stream().filter(u -> u.status() == Ride.Status.ACCEPTED).toList();
    assertEquals(driverCount, assigned.size(), "every driver got exactly one ride: " + outcome.values());
    assertEquals(driverCount, assigned.stream().map(Ride.Update::driverId).distinct().count(),
        "no driver assigned twice");
    for (int i = 0; i < driverCount; i++) {
      var status = world.status("d" + i);
      assertEquals(Driver.Status.ASSIGNED, status.status());
      assertEquals(world.prefix + "d" + i, outcome.get(status.rideId()).driverId(), "both sides agree");
    }
  }

  @Test
  void aRiderCancellingAnAcceptedRideFreesTheDriver() {
    var world = new World(Duration.ofSeconds(15), 5);
    var connection = world.online("driver", north(200));
    var rideId = world.request("rider");
    frame(connection, "offer");
    world.tellDriver("driver", r -> new Driver.Respond(rideId, true, r));
    world.awaitStatus(rideId, Ride.Status.ACCEPTED);
    var probe = testKit.<Ride.Reply>createTestProbe();
    world.ride(rideId).tell(new Ride.Cancel(world.prefix + "stranger", probe.ref()));
    assertInstanceOf(Ride.Rejected.class, probe.receiveMessage(), "only the rider cancels");
    world.ride(rideId).tell(new Ride.Cancel(world.prefix + "rider", probe.ref()));
    assertEquals(Ride.Status.CANCELLED, assertInstanceOf(Ride.RideView.class, probe.receiveMessage()).status());
    assertEquals("cancelled", frame(connection, "ride").get("status").asText());
    assertEquals(Driver.Status.AVAILABLE, world.status("driver").status());
    // After the trip started the rider cannot cancel.
    var second = world.request("rider");
    frame(connection, "offer");
    assertEquals(new Driver.Done(), world.tellDriver("driver", r -> new Driver.Respond(second, true, r)));
    assertEquals(new Driver.Done(), world.tellDriver("driver", r -> new Driver.Progress(second, Driver.Stage.STARTED,
        r)));
    world.awaitStatus(second, Ride.Status.STARTED);
    world.ride(second).tell(new Ride.Cancel(world.prefix + "rider", probe.ref()));
    assertEquals(409, assertInstanceOf(Ride.Rejected.class, probe.receiveMessage()).rejection().kind().status);
  }

  @Test
  void impossiblePingsAreAnsweredOnTheConnectionAndOfflineDriversCannotPing() {
    var world = new World(Duration.ofSeconds(15), 5);
    var connection = world.online("d", PICKUP);
    world.driver(world.prefix + "d").tell(new Driver.Report(new Ping(north(5_000), 0, 5, NOW.plusSeconds(1)),
        connection.ref()));
    assertTrue(frame(connection, "error").get("detail").asText().contains("impossible speed"));
    world.tellDriver("d", Driver.GoOffline::new);
    world.driver(world.prefix + "d").tell(new Driver.Report(new Ping(PICKUP, 0, 5, NOW.plusSeconds(2)),
        connection.ref()));
    assertEquals("not-online", frame(connection, "error").get("code").asText());
    assertEquals(Driver.Status.OFFLINE, world.status("d").status());
  }

  @Test
  void pingsReachTheCellIndexOnlyWhenMatchingWouldSeeADifference() {
    var clock = new SettableClock(NOW);
    var cells = new H3Cells(8);
    var index = testKit.<DispatchCell.Command>createTestProbe();
    var settings = new Driver.Settings(Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofMillis(500),
        Duration.ofSeconds(3), 25, Duration.ofSeconds(10));
    var driverId = "announce-" + System.nanoTime();
    var driver = testKit.spawn(Driver.create(driverId, settings, cells, clock,
        ride -> testKit.<Ride.Command>createTestProbe().ref(), cell -> index.ref()));
    var connection = testKit.<String>createTestProbe();
    var reply = testKit.<Driver.Reply>createTestProbe();
    driver.tell(new Driver.GoOnline("car", connection.ref(), reply.ref()));
    reply.expectMessageClass(Driver.Done.class);
    java.util.function.BiConsumer<GeoPoint, Integer> ping = (at, second) -> {
      clock.set(NOW.plusSeconds(second));
      driver.tell(new Driver.Report(new Ping(at, 0, 5, clock.instant()), connection.ref()));
    };
    // The first ping puts the driver in the index.
    ping.accept(PICKUP, 0);
    assertEquals(PICKUP, index.expectMessageClass(DispatchCell.Available.class).location());
    // Waiting, or crawling less than 25 m, for less than 10 s: nothing to tell.
    for (int second = 1; second <= 9; second++) ping.accept(north(2 * second), second);
    index.expectNoMessage(Duration.ofMillis(200));
    // The index's copy is 10 s old: refreshed with the latest position, so the driver never goes stale there.
    ping.accept(north(20), 10);
    var refreshed = index.expectMessageClass(DispatchCell.Available.class);
    assertEquals(north(20), refreshed.location());
    assertEquals(NOW.plusSeconds(10), refreshed.heardAt());
    // 30 m from the indexed position: told at once.
    ping.accept(north(50), 11);
    assertEquals(north(50), index.expectMessageClass(DispatchCell.Available.class).location());
    // Into another cell with a 5 m step: the old cell forgets the driver, the new one has it.
    double border = 55;
    while (cells.cellOf(north(border)).equals(cells.cellOf(north(border - 5)))) border += 5;
    ping.accept(north(border - 5), 30); // far and late: one announcement
    assertEquals(north(border - 5), index.expectMessageClass(DispatchCell.Available.class).location());
    ping.accept(north(border), 31);
    assertEquals(new DispatchCell.Gone(driverId), index.expectMessageClass(DispatchCell.Gone.class));
    assertEquals(north(border), index.expectMessageClass(DispatchCell.Available.class).location());
    index.expectNoMessage(Duration.ofMillis(200));
  }
}
