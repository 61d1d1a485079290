package io.plaza.bench;

import com.datastax.oss.driver.api.core.CqlSession;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * {@code bin/bench}'s load suite: the Gatling simulations of {@code loadtests/} against Plaza node processes that
 * bin/bench started on fresh Cassandra and Kafka, with, in the same run, the raw Cassandra insert ceiling (the
 * physical limit of this machine), and afterwards the ledger invariant checker and the dispatch double-assignment
 * check. Each simulation first runs unmeasured ({@code bench.warmup} seconds, its own users) so the node's JIT has
 * compiled what it runs. Around the measured run it scrapes every node's {@code /metrics} (persisted events/s and their
 * ratio to the raw ceiling, projection lag, 5xx answers, GC pauses), samples how the machine's CPU is split between
 * the processes, and reads Cassandra's own read/write counts per table. The summary goes to stdout and into
 * BENCHMARKS.md.
 */
public final class LoadSuite {

  private static final Path REPO = Path.of(System.getProperty("bench.repo", ".")).toAbsolutePath();
  private static final String RUN = System.getProperty("bench.run", Long.toString(System.currentTimeMillis(), 36));
  private static final int CASSANDRA_PORT = Integer.getInteger("bench.cassandra.port", 29042);
  private static final String KEYSPACE = System.getProperty("bench.keyspace", "bench");
  private static final long DURATION = Long.getLong("bench.duration", 60);
  /** Each simulation first runs this long unmeasured (own users), so the node's JIT has compiled its code paths. */
  private static final long WARMUP = Long.getLong("bench.warmup", 20);
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  record Node(int http, int management) {}

  /** One simulation of the suite, with the parameters bin/bench gives it. */
  record Simulation(String name, String gatlingClass, String offered, List<String> args, List<String> measured) {}

  record Row(String simulation, String request, long total, long ko, double perSecond, long p50, long p95, long p99) {}

  public static void main(String[] args) throws Exception {
    var nodes = new ArrayList<Node>();
    for (var n : System.getProperty("bench.nodes", "28080:28558").split(",")) {
      var ports = n.split(":");
      nodes.add(new Node(Integer.parseInt(ports[0]), Integer.parseInt(ports[1])));
    }
    var suite = suite(System.getProperty("bench.simulations",
        "ledger,ledger-floor,ledger-hot,chat,chat-floor,dispatch,timeline").split(","));

    var raw = LedgerBench.rawInserts();
    var rows = new ArrayList<Row>();
    var figures = new ArrayList<String>();
    figures.add("raw Cassandra inserts (the ceiling): " + raw.line().replaceFirst("^raw Cassandra inserts\\s+", ""));
    for (var sim : suite) {
      System.out.println("[bench] " + sim.name() + ": " + sim.offered());
      if (WARMUP > 0) gatling(sim, nodes, "w", WARMUP);
      double backgroundCores = idleNodeCores();
      var before = scrape(nodes);
      var cassandraBefore = CassandraOps.counts(CASSANDRA_PORT, KEYSPACE);
      long started = System.nanoTime();
      String report;
      var cpu = new CpuSplit();
      var steadyPings = sim.name().equals("dispatch-pings") ? SteadyPings.start(nodes, backgroundCores) : null;
      try (cpu) {
        report = gatling(sim, nodes, "", DURATION);
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      var after = scrape(nodes);
      var cassandraAfter = CassandraOps.counts(CASSANDRA_PORT, KEYSPACE);
      long requests = 0;
      for (var row : requestRows(sim.name(), report)) {
        if (!sim.measured().contains(row.request())) continue;
        rows.add(row);
        requests += row.total();
      }
      var cpuLine = cpu.line() + String.format(Locale.ROOT, "; GC pauses of the node%s: %.0f, %.0f ms in all",
          nodes.size() > 1 ? "s" : "", delta(before, after, "jvm_gc_pause_seconds_count"),
          1000 * delta(before, after, "jvm_gc_pause_seconds_sum"));
      if (requests > 0) {
        var cpuSeconds = cpu.seconds();
        cpuLine += String.format(Locale.ROOT, "; CPU per measured request: Plaza %.2f ms (%.2f ms without the node's "
            + "background work, %.1f %% of a core with no load), Cassandra %.1f ms", 1000 * cpuSeconds.get("Plaza")
            / requests, 1000 * (cpuSeconds.get("Plaza") - backgroundCores * seconds) / requests,
            100 * backgroundCores, 1000 * cpuSeconds.get("Cassandra") / requests)
            + "\n    Cassandra per measured request: "
            + CassandraOps.perRequest(cassandraBefore, cassandraAfter, requests);
      }
      double events = delta(before, after, "plaza_entity_events_persisted_total") / seconds;
      var lag = lagQuantiles(before, after);
      figures.add(String.format(Locale.ROOT, "%s (%s): persisted %.0f events/s over the run (%.2f × the raw "
              + "ceiling); projection lag p50 %s / p99 %s; HTTP 5xx answers %.0f%s", sim.name(), sim.offered(), events,
          events / raw.rate(), lag[0], lag[1], delta(before, after, "plaza_http_responses_total{", "status=\"5"),
          ownFigures(sim) + homeReads(sim, before, after) + pings(sim, before, after, cpu.seconds())
          + (steadyPings == null ? "" : steadyPings.stop()))
          + "\n    " + cpuLine);
    }
    figures.add(ledgerCheck(nodes.size()));
    if (suite.stream().anyMatch(s -> s.name().equals("dispatch"))) figures.add(doubleAssignments(suite));
    var table = String.join("\n", table(rows));
    var text = table + "\n\n```\n" + String.join("\n", figures) + "\n```\n" + GOALS;
    System.out.println(text);
    if (!"0".equals(System.getProperty("bench.write", "1"))) writeBenchmarks(text, nodes.size());
    System.exit(0);
  }

  /** The simulations and the load each gets: sized to what this 2-core machine sustains, each a property. */
  static List<Simulation> suite(String... names) {
    var all = new LinkedHashMap<String, Simulation>();
    int payers = Integer.getInteger("bench.ledger.users", 200);
    double payRate = Double.parseDouble(System.getProperty("bench.ledger.rate", "2"));
    all.put("ledger", new Simulation("ledger", "LedgerSimulation", String.format(Locale.ROOT,
        "%d payers × %.1f transfers/s", payers, payRate), List.of("-Dusers=" + payers, "-Drate=" + payRate),
        List.of("transfer", "transfer retry")));
    int hotPayers = Integer.getInteger("bench.ledger-hot.users", 100);
    // The floors: the same users and pace doing only what every design over Pekko HTTP and sharding pays.
    all.put("ledger-floor", new Simulation("ledger-floor", "LedgerSimulation", String.format(Locale.ROOT,
        "%d payers × %.1f reads of their own account/s", payers, payRate), List.of("-Dusers=" + payers,
        "-Drate=" + payRate, "-Dledger.floor=true"), List.of("account read (floor)")));
    all.put("ledger-hot", new Simulation("ledger-hot", "LedgerSimulation", String.format(Locale.ROOT,
        "%d payers × 1 transfer/s into 4 accounts", hotPayers), List.of("-Dusers=" + hotPayers, "-Drate=1",
        "-Dledger.hot=4"), List.of("transfer", "transfer retry")));
    int pairs = Integer.getInteger("bench.chat.users", 300);
    int groups = Integer.getInteger("bench.chat.groups", 30);
    double chatRate = Double.parseDouble(System.getProperty("bench.chat.rate", "1"));
    all.put("chat", new Simulation("chat", "ChatSimulation", String.format(Locale.ROOT,
        "%d 1:1 + %d groups of 5, %.0f msg/s in all, %d connections", pairs, groups, (pairs + groups) * chatRate,
        2 * pairs + 5 * groups), List.of("-Dusers=" + pairs, "-Dchat.groups=" + groups, "-Drate=" + chatRate),
        List.of("send → deliver (1:1)", "send → deliver (group)")));
    all.put("chat-floor", new Simulation("chat-floor", "ChatSimulation", String.format(Locale.ROOT,
        "the same conversations, no messages: 2 sync round trips per tick, %.0f ticks/s", (pairs + groups) * chatRate),
        List.of("-Dusers=" + pairs, "-Dchat.groups=" + groups, "-Drate=" + chatRate, "-Dchat.floor=true"),
        List.of("sync round trip (floor)")));
    int drivers = Integer.getInteger("bench.dispatch.users", 2000);
    double rides = Double.parseDouble(System.getProperty("bench.dispatch.rate", "10"));
    all.put("dispatch", new Simulation("dispatch", "DispatchSimulation", String.format(Locale.ROOT,
        "%d drivers pinging at 1 Hz, %.0f rides/s", drivers, rides), List.of("-Dusers=" + drivers,
        "-Drate=" + rides), List.of("request ride", "accept → assigned")));
    // The same drivers without riders: what a ping costs the node by itself.
    all.put("dispatch-pings", new Simulation("dispatch-pings", "DispatchSimulation", String.format(Locale.ROOT,
        "%d drivers pinging at 1 Hz, no rides", drivers), List.of("-Dusers=" + drivers, "-Drate=0"), List.of()));
    int readers = Integer.getInteger("bench.timeline.users", 500);
    double actions = Double.parseDouble(System.getProperty("bench.timeline.rate", "1"));
    all.put("timeline", new Simulation("timeline", "TimelineSimulation", String.format(Locale.ROOT,
        "%d users × %.1f actions/s (80 %% home reads)", readers, actions), List.of("-Dusers=" + readers,
        "-Drate=" + actions), List.of("home timeline", "post")));
    var chosen = new ArrayList<Simulation>();
    for (var name : names) {
      var sim = all.get(name.strip());
      if (sim == null) throw new IllegalArgumentException("unknown simulation " + name + "; known: " + all.keySet());
      chosen.add(sim);
    }
    return chosen;
  }

  /**
   * Runs one simulation with Maven's Gatling plugin; returns its HTML report's index page. {@code runSuffix} keeps the
   * warm-up's users and ids apart from the measured run's.
   */
  private static String gatling(Simulation sim, List<Node> nodes, String runSuffix, long seconds)
      throws IOException, InterruptedException {
    var command = new ArrayList<>(List.of(REPO.resolve("mvnw").toString(), "-B", "-q", "-f",
        REPO.resolve("loadtests/pom.xml").toString(),
        "gatling:test", "-Dgatling.simulationClass=io.plaza.loadtests." + sim.gatlingClass(),
        "-Dplaza.url=" + String.join(",", nodes.stream().map(n -> "http://127.0.0.1:" + n.http()).toList()),
        "-Dplaza.run=" + RUN + sim.name().replace("-", "") + runSuffix,
        "-Dduration=" + seconds));
    command.addAll(sim.args());
    var log = REPO.resolve("target/bench/gatling-" + sim.name() + (runSuffix.isEmpty() ? "" : "-warmup") + ".log");
    var process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (process.waitFor() != 0) throw new IllegalStateException("Gatling failed; see " + log);
    var output = Files.readString(log);
    var m = Pattern.compile("file://(\\S+/index\\.html)").matcher(output);
    String index = null;
    while (m.find()) index = m.group(1);
    if (index == null) throw new IllegalStateException("no Gatling report in " + log);
    System.out.println("[bench] report: " + index);
    return Files.readString(Path.of(index));
  }

  private static final Pattern ROW = Pattern.compile("class=\"ellipsed-name\">([^<]+)</span>(.*?)</tr>",
      Pattern.DOTALL);
  private static final Pattern CELL = Pattern.compile("class=\"value [a-z]+ col-(\\d+)\">([^<]*)</td>");

  /** The statistics table of Gatling's report (columns: total, OK, KO, %KO, count/s, min, p50, p75, p95, p99…). */
  static List<Row> requestRows(String simulation, String html) {
    var rows = new ArrayList<Row>();
    var m = ROW.matcher(html);
    while (m.find()) {
      var cells = new HashMap<Integer, String>();
      var c = CELL.matcher(m.group(2));
      while (c.find()) cells.put(Integer.parseInt(c.group(1)), c.group(2).replace(",", "").strip());
      if (cells.size() < 11) continue;
      rows.add(new Row(simulation, unescape(m.group(1)).strip(), parseLong(cells.get(2)),
          parseLong(cells.get(4)), Double.parseDouble(cells.get(6)), parseLong(cells.get(8)),
          parseLong(cells.get(10)), parseLong(cells.get(11))));
    }
    return rows;
  }

  private static String unescape(String html) {
    return html.replace("&rarr;", "→").replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&");
  }

  private static long parseLong(String s) {
    return s == null || s.isEmpty() || s.equals("-") ? 0 : Long.parseLong(s);
  }

  /** Figures a simulation measured itself (request → offer, pings) and printed at its end. */
  private static String ownFigures(Simulation sim) throws IOException {
    var log = Files.readAllLines(REPO.resolve("target/bench/gatling-" + sim.name() + ".log"));
    var lines = log.stream().filter(l -> l.startsWith("request → offer:") || l.startsWith("pings:")
        || l.startsWith("request → rider sees offered:"))
        .map(l -> "\n    " + l).toList();
    return String.join("", lines);
  }

  /**
   * What the node did with the drivers' pings: how many reached their driver entity, how many messages the cell
   * index got (the drivers tell it only what matching needs), and with no rides requested, the node's CPU per ping.
   */
  static String pings(Simulation sim, Map<String, Double> before, Map<String, Double> after,
      Map<String, Double> cpuSeconds) {
    if (!sim.name().startsWith("dispatch")) return "";
    double pings = delta(before, after, "plaza_dispatch_pings_total");
    double cell = delta(before, after, "plaza_entity_commands_total{", "entity=\"DispatchCell\"");
    if (pings == 0) return "";
    var line = String.format(Locale.ROOT, "%n    pings received by the node: %.0f; messages to the cell index: %.0f "
        + "(%.2f per ping)", pings, cell, cell / pings);
    if (sim.name().equals("dispatch-pings")) {
      line += String.format(Locale.ROOT, "; node CPU per ping (no rides): %.3f ms", 1000 * cpuSeconds.get("Plaza")
          / pings);
    }
    return line;
  }

  /**
   * The cores the nodes use with no load (projections polling, timers, sweeps), so that a request's own CPU can be
   * told from the node's fixed work: between a simulation's warm-up and its measured run, the quietest of five 2 s
   * samples (the first seconds after a warm-up still drain its work: projections, settlements).
   */
  static double idleNodeCores() throws InterruptedException {
    double quietest = Double.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      double cpu0 = CpuSplit.plazaCpuSeconds();
      long t0 = System.nanoTime();
      Thread.sleep(2_000);
      quietest = Math.min(quietest, (CpuSplit.plazaCpuSeconds() - cpu0) / ((System.nanoTime() - t0) / 1e9));
    }
    return quietest;
  }

  /**
   * The node's CPU per ping while every driver pings, without the ramp (logins, WebSocket handshakes, drivers going
   * online) and with the node's background work (projections polling, timers) measured apart ({@link
   * #idleNodeCores}): a sample of the node's CPU time and its ping counter every 2 s during the simulation; the
   * window is the samples where the ping rate is within 10 % of its highest.
   */
  static final class SteadyPings {
    private final List<Node> nodes;
    private final double backgroundCores;
    private final List<double[]> samples = java.util.Collections.synchronizedList(new ArrayList<>());
    private final java.util.concurrent.ScheduledExecutorService sampler =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();

    private SteadyPings(List<Node> nodes, double backgroundCores) {
      this.nodes = nodes;
      this.backgroundCores = backgroundCores;
    }

    static SteadyPings start(List<Node> nodes, double backgroundCores) {
      var steady = new SteadyPings(nodes, backgroundCores);
      steady.sampler.scheduleAtFixedRate(steady::sample, 0, 2, java.util.concurrent.TimeUnit.SECONDS);
      return steady;
    }

    private void sample() {
      try {
        samples.add(new double[] {System.nanoTime() / 1e9, CpuSplit.plazaCpuSeconds(),
            delta(Map.of(), scrape(nodes), "plaza_dispatch_pings_total")});
      } catch (IOException | RuntimeException e) {
        // a missed sample narrows the window, nothing more
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    String stop() {
      sampler.shutdownNow();
      var s = List.copyOf(samples);
      double max = 0;
      for (int i = 1; i < s.size(); i++) max = Math.max(max, rate(s.get(i - 1), s.get(i)));
      int from = -1;
      int to = -1;
      for (int i = 1; i < s.size(); i++) {
        if (rate(s.get(i - 1), s.get(i)) < 0.9 * max) continue;
        if (from < 0) from = i - 1;
        to = i;
      }
      if (from < 0 || to <= from) return "";
      var a = s.get(from);
      var b = s.get(to);
      double seconds = b[0] - a[0];
      double pings = b[2] - a[2];
      double cpu = b[1] - a[1];
      return String.format(Locale.ROOT, "%n    steady window %.0f s at %.0f pings/s: node CPU %.3f ms per ping, %.3f ms "
          + "without the node's background work (%.1f %% of a core with no load)", seconds, pings / seconds,
          1000 * cpu / pings, 1000 * (cpu - backgroundCores * seconds) / pings, 100 * backgroundCores);
    }

    private static double rate(double[] a, double[] b) {
      return (b[2] - a[2]) / (b[0] - a[0]);
    }
  }

  /**
   * Where the home reads were served from and what they cost themselves: the statements the node issued on their
   * behalf (feed loads included), apart from the fan-out's and the projections' work on the same tables.
   */
  static String homeReads(Simulation sim, Map<String, Double> before, Map<String, Double> after) {
    if (!sim.name().equals("timeline")) return "";
    double memory = delta(before, after, "plaza_timeline_home_reads_total{", "from=\"memory\"");
    double pages = delta(before, after, "plaza_timeline_home_reads_total{");
    double statements = delta(before, after, "plaza_read_path_statements_total{", "path=\"home-timeline\"");
    if (pages == 0) return "";
    return String.format(Locale.ROOT, "%n    home reads: %.0f pages, %.1f %% from memory (HomeFeed); Cassandra "
        + "statements issued by the home reads themselves: %.3f per page", pages, 100 * memory / pages,
        statements / pages);
  }

  // --- Prometheus scrapes --------------------------------------------------------------------------------------

  /** Every node's samples, summed by series. */
  static Map<String, Double> scrape(List<Node> nodes) throws IOException, InterruptedException {
    var sum = new HashMap<String, Double>();
    for (var node : nodes) {
      var body = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.management() + "/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
      parse(body).forEach((k, v) -> sum.merge(k, v, Double::sum));
    }
    return sum;
  }

  static Map<String, Double> parse(String body) {
    var samples = new HashMap<String, Double>();
    for (var line : body.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int space = line.lastIndexOf(' ');
      try {
        samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      } catch (NumberFormatException e) {
        // NaN gauges and the like: not ours to sum
      }
    }
    return samples;
  }

  /** Σ over the series that start with {@code prefix} and contain {@code fragment} of (after − before). */
  static double delta(Map<String, Double> before, Map<String, Double> after, String prefix, String... fragment) {
    double sum = 0;
    for (var e : after.entrySet()) {
      if (!e.getKey().startsWith(prefix)) continue;
      if (fragment.length > 0 && !e.getKey().contains(fragment[0])) continue;
      sum += e.getValue() - before.getOrDefault(e.getKey(), 0.0);
    }
    return sum;
  }

  private static final Pattern LE = Pattern.compile("le=\"([^\"]+)\"");

  /** p50 and p99 of the projection lag over every projection, from the histogram buckets' growth during the run. */
  static String[] lagQuantiles(Map<String, Double> before, Map<String, Double> after) {
    var buckets = new TreeMap<Double, Double>();
    for (var e : after.entrySet()) {
      if (!e.getKey().startsWith("plaza_projection_lag_seconds_bucket{")) continue;
      var le = LE.matcher(e.getKey());
      if (!le.find()) continue;
      double bound = le.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le.group(1));
      buckets.merge(bound, e.getValue() - before.getOrDefault(e.getKey(), 0.0), Double::sum);
    }
    double total = buckets.isEmpty() ? 0 : buckets.lastEntry().getValue();
    if (total <= 0) return new String[] {"-", "-"};
    return new String[] {quantile(buckets, total, 0.50), quantile(buckets, total, 0.99)};
  }

  /** As Prometheus' histogram_quantile: linear within the bucket that holds the quantile. */
  private static String quantile(TreeMap<Double, Double> cumulative, double total, double q) {
    double lowerBound = 0;
    double below = 0;
    for (var e : cumulative.entrySet()) {
      if (e.getValue() >= q * total) {
        if (e.getKey().isInfinite()) return "> 30 s";
        double inBucket = e.getValue() - below;
        double estimate = inBucket <= 0 ? e.getKey()
            : lowerBound + (e.getKey() - lowerBound) * (q * total - below) / inBucket;
        return String.format(Locale.ROOT, "%.2f s", estimate);
      }
      lowerBound = e.getKey();
      below = e.getValue();
    }
    return "-";
  }

  // --- checks afterwards ---------------------------------------------------------------------------------------

  private static String ledgerCheck(int nodes) throws IOException, InterruptedException {
    var process = new ProcessBuilder(REPO.resolve("bin/ledger-check").toString(), "60").redirectErrorStream(true);
    process.environment().put("CASSANDRA_CONTACT_POINTS", "127.0.0.1:" + CASSANDRA_PORT);
    process.environment().put("PLAZA_KEYSPACE", KEYSPACE);
    var p = process.start();
    var output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = p.waitFor();
    var lines = output.lines().filter(l -> l.startsWith("PASS") || l.startsWith("FAIL") || l.startsWith("ledger-check"))
        .map(l -> "    " + l).toList();
    return "ledger invariant checker after the load (exit " + exit + (exit == 0 ? ", all hold" : ", VIOLATION") + "):\n"
        + String.join("\n", lines);
  }

  /**
   * From the read models, once the trips ended (or 2 minutes): per driver of the dispatch simulation, its trips by
   * assignment time; two overlap when one was assigned before the previous one completed — a double assignment.
   */
  private static String doubleAssignments(List<Simulation> suite) throws InterruptedException {
    int drivers = Integer.getInteger("bench.dispatch.users", 2000);
    try (var session = CqlSession.builder().addContactPoint(new InetSocketAddress("127.0.0.1", CASSANDRA_PORT))
        .withLocalDatacenter("datacenter1").build()) {
      var byDriver = session.prepare("SELECT assigned_at, ride_id FROM " + KEYSPACE
          + ".driver_trips WHERE driver_id = ?");
      var rideStatus = session.prepare("SELECT status, updated_at FROM " + KEYSPACE + ".rides WHERE ride_id = ?");
      long trips = 0;
      long overlaps = 0;
      long open = 0;
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      do {
        trips = 0;
        overlaps = 0;
        open = 0;
        for (int d = 1; d <= drivers; d++) {
          Instant laterAssigned = null; // rows are newest first
          for (var row : session.execute(byDriver.bind("dd-" + RUN + "dispatch-" + d))) {
            trips++;
            var ride = session.execute(rideStatus.bind(row.getString("ride_id"))).one();
            Instant ended = ride != null && "completed".equals(ride.getString("status"))
                ? ride.getInstant("updated_at") : null;
            if (ended == null) {
              open++;
            } else if (laterAssigned != null && ended.isAfter(laterAssigned)) {
              overlaps++;
            }
            laterAssigned = row.getInstant("assigned_at");
          }
        }
        if (open > 0) Thread.sleep(5_000);
      } while (open > 0 && System.nanoTime() < deadline);
      return String.format(Locale.ROOT, "dispatch double assignments (trips of one driver overlapping in the "
          + "read models): %d over %d trips (must be 0); trips not completed: %d", overlaps, trips, open);
    }
  }

  // --- the summary ---------------------------------------------------------------------------------------------

  static final String GOALS = "Goals (issue 9) on this machine: persisted events/s ≥ 0.4 × the raw ceiling; every "
      + "projection keeps up; chat p99 ≤ 50 ms at 2,000 msg/s; ledger ≥ 1,500 transfers/s with p99 ≤ 100 ms; "
      + "dispatch 20,000 pings/s and request → offer p99 ≤ 50 ms; timeline home read p99 ≤ 20 ms; projection lag "
      + "p99 ≤ 1 s.";

  private static List<String> table(List<Row> rows) {
    var lines = new ArrayList<String>();
    lines.add("| simulation | measured | requests | failed | per s | p50 ms | p95 ms | p99 ms |");
    lines.add("|---|---|---:|---:|---:|---:|---:|---:|");
    for (var r : rows) {
      lines.add(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.1f | %d | %d | %d |", r.simulation(),
          r.request(), r.total(), r.ko(), r.perSecond(), r.p50(), r.p95(), r.p99()));
    }
    return lines;
  }

  /** The markers of the section a run rewrites: one for a single node, one for the cluster. */
  static String marker(int nodes, String what) {
    return "<!-- bin/bench" + (nodes > 1 ? " --cluster" : "") + " summary: " + what + " -->";
  }

  /** Replaces the summary section of BENCHMARKS.md (between its markers) with this run's. */
  private static void writeBenchmarks(String text, int nodes) throws IOException {
    var file = REPO.resolve("BENCHMARKS.md");
    var header = String.format(Locale.ROOT, "Last run: %s, `%s`; %d Plaza node%s (%s), Cassandra 5.0.9, "
            + "Kafka 4.4.0, Pekko 1.2.1, Gatling 3.15.1; %d s per simulation; machine: %d cores, %s, Java %s.",
        LocalDate.now(), System.getProperty("bench.command", "bin/bench"), nodes, nodes == 1 ? "" : "s",
        nodes == 1 ? "one JVM" : "a local cluster", DURATION, Runtime.getRuntime().availableProcessors(), memory(),
        System.getProperty("java.version"));
    var begin = marker(nodes, "begin");
    var end = marker(nodes, "end");
    var section = begin + "\n" + header + "\n\n" + text.strip() + "\n" + end;
    var current = Files.exists(file) ? Files.readString(file) : "# Benchmarks\n";
    int from = current.indexOf(begin);
    int to = current.indexOf(end);
    String updated;
    if (from >= 0 && to > from) {
      updated = current.substring(0, from) + section + current.substring(to + end.length());
    } else {
      int firstSection = current.indexOf("\n## ");
      updated = firstSection < 0 ? current + "\n" + section + "\n"
          : current.substring(0, firstSection) + "\n" + section + "\n" + current.substring(firstSection);
    }
    Files.writeString(file, updated);
    System.out.println("[bench] summary written to " + file);
  }

  private static String memory() {
    try {
      var line = Files.readAllLines(Path.of("/proc/meminfo")).get(0);
      long kb = Long.parseLong(line.replaceAll("\\D+", ""));
      return String.format(Locale.ROOT, "%.0f GiB", kb / 1024.0 / 1024.0);
    } catch (Exception e) {
      return "memory unknown";
    }
  }

  private LoadSuite() {}
}
