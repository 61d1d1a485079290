package io.plaza.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Where the machine's CPU went during a simulation, per process kind (Plaza nodes, Cassandra, Kafka, the Gatling
 * load generator, everything else): the answer to "which process is the bottleneck" on a machine where they all
 * share the same cores. Processes are sampled every 500 ms so that one which exits before the end (Gatling's JVM)
 * still counts up to its last sample.
 */
final class CpuSplit implements AutoCloseable {

  /** The process kinds, in the order they are printed. */
  static final String[] KINDS = {"Plaza", "Cassandra", "Kafka", "Gatling", "other"};

  private final Map<Long, long[]> firstAndLast = new ConcurrentHashMap<>(); // pid → {first, last} CPU nanos
  private final Map<Long, String> kindOf = new ConcurrentHashMap<>();
  private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
    var t = new Thread(r, "cpu-split");
    t.setDaemon(true);
    return t;
  });
  private final long started = System.nanoTime();
  private volatile long stopped;

  CpuSplit() {
    // Processes that exist now count from now; those started later count from zero (all their CPU is in the run).
    ProcessHandle.allProcesses().forEach(p -> sample(p, true));
    sampler.scheduleAtFixedRate(() -> ProcessHandle.allProcesses().forEach(p -> sample(p, false)), 500, 500,
        TimeUnit.MILLISECONDS);
  }

  static String kind(String commandLine) {
    if (commandLine.contains("CassandraDaemon")) return "Cassandra";
    if (commandLine.contains("kafka.Kafka")) return "Kafka";
    if (commandLine.contains("plaza.jar")) return "Plaza";
    if (commandLine.contains("gatling") || commandLine.contains("loadtests")) return "Gatling";
    return "other";
  }

  private void sample(ProcessHandle process, boolean atStart) {
    var info = process.info();
    var cpu = info.totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    if (cpu < 0) return;
    kindOf.computeIfAbsent(process.pid(), pid -> kind(commandLine(process)));
    firstAndLast.compute(process.pid(), (pid, seen) -> {
      if (seen == null) return new long[] {atStart ? cpu : 0, cpu};
      seen[1] = cpu;
      return seen;
    });
  }

  /** CPU seconds the Plaza node processes have used so far. */
  static double plazaCpuSeconds() {
    return ProcessHandle.allProcesses().filter(p -> kind(commandLine(p)).equals("Plaza"))
        .mapToDouble(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L) / 1e9).sum();
  }

  /** The JDK leaves out the arguments of long command lines (Cassandra's classpath): read /proc where there is one. */
  private static String commandLine(ProcessHandle process) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline"), StandardCharsets.UTF_8)
          .replace('\0', ' ');
    } catch (IOException | RuntimeException e) {
      var info = process.info();
      return info.commandLine().orElse(info.command().orElse(""));
    }
  }

  @Override
  public void close() {
    ProcessHandle.allProcesses().forEach(p -> sample(p, false));
    sampler.shutdownNow();
    stopped = System.nanoTime();
  }

  /** CPU seconds per kind over the run. */
  Map<String, Double> seconds() {
    var byKind = new LinkedHashMap<String, Double>();
    for (var k : KINDS) byKind.put(k, 0.0);
    firstAndLast.forEach((pid, seen) -> byKind.merge(kindOf.get(pid), (seen[1] - seen[0]) / 1e9, Double::sum));
    return byKind;
  }

  /** E.g. "CPU of 2 cores × 71 s: Plaza 48 %, Cassandra 31 %, Kafka 2 %, Gatling 12 %, other 1 %, idle 6 %". */
  String line() {
    double wall = ((stopped == 0 ? System.nanoTime() : stopped) - started) / 1e9;
    int cores = Runtime.getRuntime().availableProcessors();
    double capacity = wall * cores;
    var joiner = new StringJoiner(", ");
    double used = 0;
    for (var e : seconds().entrySet()) {
      used += e.getValue();
      joiner.add(String.format(Locale.ROOT, "%s %.0f %%", e.getKey(), 100 * e.getValue() / capacity));
    }
    joiner.add(String.format(Locale.ROOT, "idle %.0f %%", Math.max(0, 100 * (1 - used / capacity))));
    return String.format(Locale.ROOT, "CPU of %d cores × %.0f s: %s", cores, wall, joiner);
  }
}
