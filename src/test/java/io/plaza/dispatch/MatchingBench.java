package io.plaza.dispatch;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code bin/bench matching}: an in-JVM simulation of a dense downtown at peak — an H3 cell (resolution 8, as
 * dispatch uses) and its two rings, 19 cells — with no node and no storage. The same recorded demand (ride requests at
 * random times and places, a fixed seed) and the same drivers are matched twice, over the scores matching uses
 * ({@link DispatchScorer}):
 * <ul>
 *   <li><b>one by one</b>, as {@link Ride} matches today: at each request, its pickup cell's rings outwards until
 *       {@code enough-candidates} (5) available drivers of its vehicle type are found or {@code max-search-rings} (3)
 *       is reached, the best ranked one;
 *   <li><b>in batch windows</b>: at each window's end, cell by cell, the requests waiting in the cell against the
 *       available drivers of the cell and its first ring ({@link BatchMatching#batch}).
 * </ul>
 * Every offer is taken (acceptance is not simulated). A matched driver drives to the pickup and takes a trip, then is
 * available again somewhere in the area; a request with no driver is tried again (every second one by one, every
 * window in batches) until its patience runs out. Printed for each: match rate, pickup ETA, the wait from request to
 * match, and the matcher's CPU per match (the scoring and the solver, on this thread).
 */
public final class MatchingBench {

  private static final H3Cells CELLS = new H3Cells(8);
  private static final GeoPoint CENTER = new GeoPoint(52.52, 13.405);
  private static final double TICK = 0.1;
  private static final DispatchScorer SCORER =
      new DispatchScorer(30 / 3.6, Duration.ofMinutes(15), Duration.ofMinutes(30));
  private static final int ENOUGH_CANDIDATES = 5;
  private static final int MAX_RINGS = 3;

  /**
   * The defaults are the seed figures' peak in a dense cell: 500,000 drivers and 10,000 matches/s over a city of about
   * 1,500 such cells, three times the mean density downtown (1,000 drivers and 20 requests/s per cell). A driver is
   * then matched about every 50 s, so a trip here takes 20 s of simulated time.
   */
  record Params(int driversPerCell, double requestsPerSecondPerCell, double tripSeconds, double windowSeconds,
      double patienceSeconds, double seconds, double xlShare, int exactUpTo, int perRequest, long seed) {

    static Params fromProperties() {
      return new Params(Integer.getInteger("bench.matching.drivers-per-cell", 1_000),
          Double.parseDouble(System.getProperty("bench.matching.rate-per-cell", "20")),
          Double.parseDouble(System.getProperty("bench.matching.trip-seconds", "20")),
          Double.parseDouble(System.getProperty("bench.matching.window-seconds", "2")),
          Double.parseDouble(System.getProperty("bench.matching.patience-seconds", "30")),
          Double.parseDouble(System.getProperty("bench.matching.seconds", "60")),
          Double.parseDouble(System.getProperty("bench.matching.xl-share", "0.1")),
          Integer.getInteger("bench.matching.exact-up-to", 400),
          Integer.getInteger("bench.matching.per-request", 10), Long.getLong("bench.matching.seed", 42));
    }

    Params lasting(double seconds) {
      return new Params(driversPerCell, requestsPerSecondPerCell, tripSeconds, windowSeconds, patienceSeconds, seconds,
          xlShare, exactUpTo, perRequest, seed + 1);
    }
  }

  /** The 19 cells: the center cell and its two rings. */
  private static final List<String> AREA = area();

  private static List<String> area() {
    var center = CELLS.cellOf(CENTER);
    var cells = new ArrayList<String>();
    for (int k = 0; k <= 2; k++) cells.addAll(CELLS.ring(center, k));
    return List.copyOf(cells);
  }

  /** One recorded request: when (simulated seconds), where, which kind of vehicle. */
  record Demand(double at, BatchMatching.Request request, String cell) {}

  public static void main(String[] args) throws Exception {
    var p = Params.fromProperties();
    // The JIT compiles both paths on a short run first, so the CPU per match is the compiled code's.
    var warm = p.lasting(10);
    run(warm, record(warm), false);
    run(warm, record(warm), true);
    var demand = record(p);
    var oneByOne = run(p, demand, false);
    var batch = run(p, demand, true);
    var out = new StringBuilder(String.format(Locale.ROOT, "matching simulation (%d cells of H3 resolution 8): %d "
            + "drivers per cell, %.0f requests/s per cell for %.0f s (%d requests, %.0f %% XL), trips of %.0f s, "
            + "patience %.0f s; batch: exact up to %d, each request's best %d drivers%n", AREA.size(),
        p.driversPerCell(), p.requestsPerSecondPerCell(), p.seconds(), demand.size(), 100 * p.xlShare(),
        p.tripSeconds(), p.patienceSeconds(), p.exactUpTo(), p.perRequest()));
    out.append(oneByOne.line("one by one")).append('\n');
    out.append(batch.line(String.format(Locale.ROOT, "batch %.1f s", p.windowSeconds()))).append('\n');
    out.append(String.format(Locale.ROOT, "batch against one by one: matched %+.1f %%, total pickup ETA %+.1f %% (mean "
            + "per match %+.1f %%), wait for a match %+.2f s on average", pctChange(oneByOne.matched, batch.matched),
        pctChange(oneByOne.etaSum, batch.etaSum), pctChange(oneByOne.meanEta(), batch.meanEta()),
        batch.meanWait() - oneByOne.meanWait()));
    System.out.println(out);
    var file = System.getProperty("bench.result.file");
    if (file != null) java.nio.file.Files.writeString(java.nio.file.Path.of(file), out.toString());
  }

  private static double pctChange(double from, double to) {
    return 100 * (to - from) / from;
  }

  static List<Demand> record(Params p) {
    var random = new Random(p.seed());
    var demand = new ArrayList<Demand>();
    double rate = p.requestsPerSecondPerCell() * AREA.size();
    double t = 0;
    int n = 0;
    while (true) {
      t += -Math.log(1 - random.nextDouble()) / rate; // Poisson arrivals
      if (t >= p.seconds()) return demand;
      var type = random.nextDouble() < p.xlShare() ? "xl" : "car";
      var pickup = somewhere(random);
      demand.add(new Demand(t, new BatchMatching.Request("r" + n++, pickup, type), CELLS.cellOf(pickup)));
    }
  }

  private static final Set<String> AREA_SET = Set.copyOf(AREA);

  /** A uniform position in the area: uniform in a covering disk, kept when its cell is one of the area's. */
  private static GeoPoint somewhere(Random random) {
    while (true) {
      double r = 2_600 * Math.sqrt(random.nextDouble());
      double angle = 2 * Math.PI * random.nextDouble();
      var at = new GeoPoint(CENTER.lat() + r * Math.cos(angle) / 111_320,
          CENTER.lng() + r * Math.sin(angle) / (111_320 * Math.cos(Math.toRadians(CENTER.lat()))));
      if (AREA_SET.contains(CELLS.cellOf(at))) return at;
    }
  }

  /** A driver of the simulation: where it is, from when it is free, and its own random stream of trip ends. */
  private static final class SimDriver {
    final String id;
    final String type;
    final double acceptance;
    final Random trips;
    GeoPoint at;
    String cell;
    double freeAt;

    SimDriver(int n, Params p, Random setup) {
      id = "d" + n;
      type = setup.nextDouble() < p.xlShare() ? "xl" : "car";
      acceptance = 0.7 + 0.3 * setup.nextDouble();
      trips = new Random(p.seed() * 31 + n);
      moveTo(somewhere(setup));
      freeAt = -setup.nextDouble() * 600; // idle for up to 10 minutes at the start
    }

    void moveTo(GeoPoint point) {
      at = point;
      cell = CELLS.cellOf(point);
    }

    BatchMatching.Available available() {
      return new BatchMatching.Available(new DispatchScorer.Candidate(id, at, acceptance,
          Instant.EPOCH.plusMillis(Math.round(freeAt * 1000))), type);
    }
  }

  static final class Outcome {
    int requests;
    int matched;
    int expired;
    double etaSum;
    double waitSum;
    long cpuNanos;
    long solves;
    long solvedRequests;
    long solvedDrivers;
    final List<Double> etas = new ArrayList<>();
    final List<Double> waits = new ArrayList<>();

    double meanEta() {
      return etaSum / matched;
    }

    double meanWait() {
      return waitSum / matched;
    }

    String line(String name) {
      Collections.sort(etas);
      Collections.sort(waits);
      return String.format(Locale.ROOT, "  %-12s matched %d of %d (%.1f %%, %d gave up); pickup ETA mean %.0f s, p95 "
              + "%.0f s; wait for a match mean %.2f s, p95 %.2f s; matcher CPU %.1f µs per match%s", name, matched,
          requests, 100.0 * matched / requests, expired, meanEta(), pct(etas, 0.95), meanWait(), pct(waits, 0.95),
          cpuNanos / 1e3 / matched, solves == 0 ? "" : String.format(Locale.ROOT, " (%d cell windows solved, mean "
              + "%.1f requests × %.0f drivers)", solves, (double) solvedRequests / solves,
              (double) solvedDrivers / solves));
    }

    private static double pct(List<Double> sorted, double p) {
      return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1));
    }
  }

  static Outcome run(Params p, List<Demand> demand, boolean batched) {
    var setup = new Random(p.seed() + 7);
    var byCell = new HashMap<String, List<SimDriver>>();
    int drivers = p.driversPerCell() * AREA.size();
    for (int i = 0; i < drivers; i++) {
      var d = new SimDriver(i, p, setup);
      byCell.computeIfAbsent(d.cell, c -> new ArrayList<>()).add(d);
    }
    var bean = ManagementFactory.getThreadMXBean();
    var outcome = new Outcome();
    outcome.requests = demand.size();
    var waiting = new LinkedHashMap<String, Demand>(); // by ride id, in arrival order
    var byId = new HashMap<String, SimDriver>();
    byCell.values().forEach(list -> list.forEach(d -> byId.put(d.id, d)));
    int next = 0;
    long ticks = Math.round((p.seconds() + p.patienceSeconds()) / TICK);
    long ticksPerWindow = Math.max(1, Math.round(p.windowSeconds() / TICK));
    long ticksPerRetry = Math.round(1 / TICK);
    for (long tick = 1; tick <= ticks; tick++) {
      double now = tick * TICK;
      var arrived = new ArrayList<Demand>();
      while (next < demand.size() && demand.get(next).at() <= now) arrived.add(demand.get(next++));
      arrived.forEach(d -> waiting.put(d.request().rideId(), d));
      waiting.values().removeIf(d -> {
        if (now - d.at() <= p.patienceSeconds()) return false;
        outcome.expired++;
        return true;
      });
      var instant = Instant.EPOCH.plusMillis(Math.round(now * 1000));
      var matches = new ArrayList<BatchMatching.Match>();
      long cpu0 = bean.getCurrentThreadCpuTime();
      if (batched) {
        if (tick % ticksPerWindow != 0) continue;
        var taken = new HashSet<String>();
        var byPickupCell = new TreeMap<String, List<BatchMatching.Request>>();
        waiting.values().forEach(d -> byPickupCell.computeIfAbsent(d.cell(), c -> new ArrayList<>()).add(d.request()));
        for (var cell : byPickupCell.entrySet()) {
          var available = availableIn(byCell, CELLS.ring(cell.getKey(), 0), now, taken);
          available.addAll(availableIn(byCell, CELLS.ring(cell.getKey(), 1), now, taken));
          var found = BatchMatching.batch(cell.getValue(), available, SCORER, instant, p.exactUpTo(), p.perRequest());
          outcome.solves++;
          outcome.solvedRequests += cell.getValue().size();
          outcome.solvedDrivers += available.size();
          found.forEach(m -> taken.add(m.driver().candidate().driverId()));
          matches.addAll(found);
        }
      } else {
        var tried = new ArrayList<>(tick % ticksPerRetry == 0 ? waiting.values() : arrived);
        var taken = new HashSet<String>();
        for (var d : tried) {
          var found = BatchMatching.oneByOne(List.of(d.request()), ringSearch(byCell, d, now, taken), SCORER,
              instant);
          found.forEach(m -> taken.add(m.driver().candidate().driverId()));
          matches.addAll(found);
        }
      }
      outcome.cpuNanos += bean.getCurrentThreadCpuTime() - cpu0;
      for (var match : matches) {
        var d = waiting.remove(match.request().rideId());
        double eta = match.driver().eta().toMillis() / 1000.0;
        outcome.matched++;
        outcome.etaSum += eta;
        outcome.etas.add(eta);
        outcome.waitSum += now - d.at();
        outcome.waits.add(now - d.at());
        var driver = byId.get(match.driver().candidate().driverId());
        driver.freeAt = now + eta + p.tripSeconds();
        byCell.get(driver.cell).remove(driver);
        driver.moveTo(somewhere(driver.trips)); // where the trip ends
        byCell.computeIfAbsent(driver.cell, c -> new ArrayList<>()).add(driver);
      }
    }
    outcome.expired += waiting.size();
    return outcome;
  }

  /** As {@link Ride} searches: ring by ring until enough candidates or the last ring. */
  private static List<BatchMatching.Available> ringSearch(Map<String, List<SimDriver>> byCell, Demand d, double now,
      Set<String> taken) {
    var found = new ArrayList<BatchMatching.Available>();
    for (int k = 0; k <= MAX_RINGS && found.size() < ENOUGH_CANDIDATES; k++) {
      for (var a : availableIn(byCell, CELLS.ring(d.cell(), k), now, taken)) {
        if (a.vehicleType().equals(d.request().vehicleType())) found.add(a);
      }
    }
    return found;
  }

  private static List<BatchMatching.Available> availableIn(Map<String, List<SimDriver>> byCell, List<String> cells,
      double now, Set<String> taken) {
    var available = new ArrayList<BatchMatching.Available>();
    for (var cell : cells) {
      for (var d : byCell.getOrDefault(cell, List.of())) {
        if (d.freeAt <= now && !taken.contains(d.id)) available.add(d.available());
      }
    }
    return available;
  }

  private MatchingBench() {}
}
