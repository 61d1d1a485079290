package io.plaza.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plain rules of dispatch: scoring, search rings, surge, ping validation, cancellation, fares. */
class DispatchRulesTest {

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final GeoPoint PICKUP = new GeoPoint(52.5200, 13.4050);
  private static final DispatchScorer SCORER = new DispatchScorer(30 / 3.6, Duration.ofMinutes(15),
      Duration.ofMinutes(30));

  /** A point {@code meters} north of the pickup. */
  private static GeoPoint north(double meters) {
    return new GeoPoint(PICKUP.lat() + meters / 111_195.0, PICKUP.lng());
  }

  private static DispatchScorer.Candidate candidate(String id, double metersAway, double acceptance,
      Duration idle) {
    return new DispatchScorer.Candidate(id, north(metersAway), acceptance, NOW.minus(idle));
  }

  @Test
  void theScorerWeighsEtaAcceptanceAndFairness() {
    // Same acceptance and idle time: the nearer driver wins.
    var near = candidate("near", 300, 1, Duration.ofMinutes(5));
    var far = candidate("far", 3_000, 1, Duration.ofMinutes(5));
    assertEquals(List.of("near", "far"), ids(SCORER.rank(List.of(far, near), PICKUP, NOW)));
    // 1 km at 30 km/h is 2 minutes.
    assertEquals(120, SCORER.eta(PICKUP, north(1_000)).toSeconds(), 1);
    // Exactly the weights: at the pickup, always accepting, idle 30 min = 1.0; at the max ETA, never accepting,
    // just available = 0.0.
    assertEquals(1.0, SCORER.score(candidate("best", 0, 1, Duration.ofMinutes(30)), PICKUP, NOW).score(), 1e-9);
    assertEquals(0.0, SCORER.score(candidate("worst", 7_500, 0, Duration.ZERO), PICKUP, NOW).score(), 1e-9);
    assertEquals(0.2, SCORER.score(candidate("a", 7_500, 1, Duration.ZERO), PICKUP, NOW).score(), 1e-9);
    assertEquals(0.3, SCORER.score(candidate("f", 7_500, 0, Duration.ofHours(2)), PICKUP, NOW).score(), 1e-9);
    // Fairness can beat a small ETA edge: 400 m nearer (~48 s of 15 min ETA = 0.027) loses to 20 more idle minutes
    // (0.2 of fairness).
    var justFreed = candidate("just-freed", 600, 1, Duration.ZERO);
    var waiting = candidate("waiting", 1_000, 1, Duration.ofMinutes(20));
    assertEquals(List.of("waiting", "just-freed"), ids(SCORER.rank(List.of(justFreed, waiting), PICKUP, NOW)));
    // Equal scores: by driver id, whatever order the cells answered in.
    var b = candidate("b", 500, 1, Duration.ZERO);
    var a = candidate("a", 500, 1, Duration.ZERO);
    assertEquals(List.of("a", "b"), ids(SCORER.rank(List.of(b, a), PICKUP, NOW)));
  }

  @Test
  void searchRingsWidenOutwardsWithoutOverlap() {
    var cells = new H3Cells(8);
    var center = cells.cellOf(PICKUP);
    assertEquals(List.of(center), cells.ring(center, 0));
    var seen = new HashSet<String>();
    int[] sizes = {1, 6, 12, 18};
    for (int k = 0; k <= 3; k++) {
      var ring = cells.ring(center, k);
      assertEquals(sizes[k], ring.size(), "ring " + k);
      for (var cell : ring) assertTrue(seen.add(cell), "ring " + k + " repeats " + cell);
    }
    // A point ~1.5 km away is not in the pickup cell but within 3 rings; ~20 km away is outside them.
    var nearby = cells.cellOf(north(1_500));
    assertTrue(!nearby.equals(center) && seen.contains(nearby));
    assertTrue(!seen.contains(cells.cellOf(north(20_000))));
  }

  @Test
  void surgeGrowsWithDemandOverSupplyUpToTheCap() {
    var surge = new SurgePricing(Duration.ofMinutes(1), 0.5, 3.0);
    assertEquals(1.0, surge.multiplier(0, 0));
    assertEquals(1.0, surge.multiplier(5, 5), "demand at supply");
    assertEquals(1.5, surge.multiplier(10, 5), "twice the demand: +0.5");
    assertEquals(1.3, surge.multiplier(8, 5), "ratio 1.6 → 1.3");
    assertEquals(3.0, surge.multiplier(100, 5), "capped");
    assertEquals(3.0, surge.multiplier(1, 0), "demand and no drivers: the cap");
    // The window slides: requests and drivers older than a minute no longer count.
    var window = surge.new Window();
    window.driverAvailable("d1", NOW);
    for (int i = 0; i < 4; i++) window.request(NOW.plusSeconds(i));
    assertEquals(2.5, window.multiplier(NOW.plusSeconds(5)));
    window.driverAvailable("d2", NOW.plusSeconds(30));
    assertEquals(1.5, window.multiplier(NOW.plusSeconds(30)));
    assertEquals(1.0, window.multiplier(NOW.plusSeconds(65)), "old requests left the window");
    assertEquals(1, window.drivers(), "d1 left the window");
  }

  @Test
  void impossiblePingsAreRefusedWithAReason() {
    var first = new Ping(PICKUP, 90, 10, NOW);
    assertNull(Ping.rejection(null, first, NOW));
    assertNull(Ping.rejection(first, new Ping(north(10), 0, 10, NOW.plusSeconds(1)), NOW.plusSeconds(1)));
    assertContains("lat", Ping.rejection(null, new Ping(new GeoPoint(91, 0), 0, 0, NOW), NOW));
    assertContains("lng", Ping.rejection(null, new Ping(new GeoPoint(0, -181), 0, 0, NOW), NOW));
    assertContains("heading", Ping.rejection(null, new Ping(PICKUP, 360, 0, NOW), NOW));
    assertContains("speed", Ping.rejection(null, new Ping(PICKUP, 0, -1, NOW), NOW));
    assertContains("speed", Ping.rejection(null, new Ping(PICKUP, 0, 150, NOW), NOW));
    assertContains("future", Ping.rejection(null, new Ping(PICKUP, 0, 0, NOW.plusSeconds(60)), NOW));
    assertContains("old", Ping.rejection(null, new Ping(PICKUP, 0, 0, NOW.minusSeconds(120)), NOW));
    assertContains("later than the previous", Ping.rejection(first, new Ping(PICKUP, 0, 0, NOW), NOW));
    // 5 km in one second: a teleport.
    assertContains("impossible speed", Ping.rejection(first, new Ping(north(5_000), 0, 10, NOW.plusSeconds(1)),
        NOW.plusSeconds(1)));
  }

  @Test
  void riderAndDriverCancellationRules() {
    for (var status : List.of(Ride.Status.REQUESTED, Ride.Status.OFFERED, Ride.Status.ACCEPTED, Ride.Status.ARRIVED)) {
      assertNull(Ride.cancelRefusal(status, Ride.Party.RIDER), "rider may cancel when " + status);
    }
    assertNotNull(Ride.cancelRefusal(Ride.Status.STARTED, Ride.Party.RIDER));
    assertNull(Ride.cancelRefusal(Ride.Status.ACCEPTED, Ride.Party.DRIVER));
    assertNull(Ride.cancelRefusal(Ride.Status.ARRIVED, Ride.Party.DRIVER));
    assertContains("decline", Ride.cancelRefusal(Ride.Status.OFFERED, Ride.Party.DRIVER));
    assertNotNull(Ride.cancelRefusal(Ride.Status.STARTED, Ride.Party.DRIVER));
    for (var ended : List.of(Ride.Status.COMPLETED, Ride.Status.CANCELLED, Ride.Status.NO_DRIVERS_AVAILABLE)) {
      for (var party : Ride.Party.values()) assertContains("ended", Ride.cancelRefusal(ended, party));
    }
  }

  @Test
  void faresAddBaseDistanceAndTimeTimesSurgeWithAMinimum() {
    var fares = new Fares(250, 120, 30, 500);
    assertEquals(250 + 1_200 + 600, fares.estimateCents(10_000, 20, 1.0));
    assertEquals(Math.round((250 + 1_200 + 600) * 1.5), fares.estimateCents(10_000, 20, 1.5));
    assertEquals(500, fares.estimateCents(100, 1, 1.0), "never below the minimum");
  }

  private static List<String> ids(List<DispatchScorer.Scored> ranked) {
    return ranked.stream().map(s -> s.candidate().driverId()).toList();
  }

  private static void assertContains(String expected, String actual) {
    assertNotNull(actual, "expected a reason containing '" + expected + "'");
    assertTrue(actual.contains(expected), "'" + actual + "' should mention '" + expected + "'");
  }
}
