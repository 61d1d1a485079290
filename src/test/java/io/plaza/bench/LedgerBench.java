package io.plaza.bench;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.uuid.Uuids;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.PlazaNode;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * bin/bench: (a) the raw ceiling — prepared async single-row inserts into a journal-shaped Cassandra table — and
 * (b) deposits through HTTP → sharding → LedgerAccount → Cassandra journal, many accounts, same machine and run.
 * Prints both rates, their ratio and the latency percentiles of (b).
 */
public final class LedgerBench {

  record Result(String name, long ops, long errors, double seconds, ConcurrentHistogram latencyMicros) {
    double rate() {
      return ops / seconds;
    }

    String line() {
      return String.format("%-32s %9.0f ops/s  p50 %6.1f ms  p99 %6.1f ms  max %7.1f ms  (%d ops, %d errors, %.0f s)",
          name, rate(), latencyMicros.getValueAtPercentile(50) / 1000.0,
          latencyMicros.getValueAtPercentile(99) / 1000.0, latencyMicros.getMaxValue() / 1000.0, ops, errors,
          seconds);
    }
  }

  private static final int CASSANDRA_PORT = Integer.getInteger("bench.cassandra.port", 29042);
  private static final int KAFKA_PORT = Integer.getInteger("bench.kafka.port", 29092);
  private static final Duration WARMUP = Duration.ofSeconds(Integer.getInteger("bench.warmup", 10));
  private static final Duration MEASURE = Duration.ofSeconds(Integer.getInteger("bench.seconds", 30));
  private static final int RAW_IN_FLIGHT = Integer.getInteger("bench.raw.inflight", 256);
  private static final int HTTP_IN_FLIGHT = Integer.getInteger("bench.http.inflight", 256);
  private static final int ACCOUNTS = Integer.getInteger("bench.accounts", 2000);

  public static void main(String[] args) throws Exception {
    var out = new ArrayList<String>();
    var raw = rawInserts();
    var http = depositsOverHttp();
    out.add(String.format("Plaza ledger benchmark — %s, %d cores, warmup %d s, measure %d s",
        java.time.LocalDate.now(), Runtime.getRuntime().availableProcessors(), WARMUP.toSeconds(),
        MEASURE.toSeconds()));
    out.add("(a) " + raw.line() + "  [" + RAW_IN_FLIGHT + " in flight]");
    out.add("(b) " + http.line() + "  [" + HTTP_IN_FLIGHT + " in flight, " + ACCOUNTS + " accounts]");
    out.add(String.format("ratio (b)/(a) = %.2f   (goal >= 0.40; out-of-the-box Pekko measured 0.12-0.16 here)",
        http.rate() / raw.rate()));
    var text = String.join("\n", out) + "\n";
    System.out.print(text);
    var file = System.getProperty("bench.result.file");
    if (file != null) Files.writeString(Path.of(file), text);
    System.exit(0);
  }

  /** (a) What Cassandra and the driver can do on this machine: the physical ceiling for (b). */
  static Result rawInserts() throws Exception {
    try (var session = CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", CASSANDRA_PORT))
        .withLocalDatacenter("datacenter1").build()) {
      session.execute("CREATE KEYSPACE IF NOT EXISTS bench_raw WITH replication = "
          + "{'class': 'SimpleStrategy', 'replication_factor': 1}");
      session.execute("CREATE TABLE IF NOT EXISTS bench_raw.messages (persistence_id text, partition_nr bigint, "
          + "sequence_nr bigint, timestamp timeuuid, writer_uuid text, ser_id int, ser_manifest text, "
          + "event_manifest text, event blob, tags set<text>, "
          + "PRIMARY KEY ((persistence_id, partition_nr), sequence_nr, timestamp))");
      PreparedStatement insert = session.prepare("INSERT INTO bench_raw.messages (persistence_id, partition_nr, "
          + "sequence_nr, timestamp, writer_uuid, ser_id, ser_manifest, event_manifest, event, tags) "
          + "VALUES (?, 0, ?, ?, 'bench', 33, 'FundsDeposited', '', ?, {'ledger-account-0'})");
      var payload = ByteBuffer.wrap(new byte[100]);
      var seq = new AtomicLong();
      return closedLoop("raw Cassandra inserts", RAW_IN_FLIGHT, () -> {
        long n = seq.incrementAndGet();
        return session.executeAsync(insert.bind("acc-" + (n % ACCOUNTS), n, Uuids.timeBased(), payload.duplicate()))
            .thenApply(rs -> true);
      });
    }
  }

  /** (b) The full write path a client sees: HTTP, JWT, routing, sharding, persist with tags, reply. */
  static Result depositsOverHttp() throws Exception {
    var config = io.plaza.platform.TestNodes.config("bench_" + System.currentTimeMillis(), "bench.plaza.ledger.accounts",
        CASSANDRA_PORT, KAFKA_PORT);
    try (var node = PlazaNode.start(config)) {
      var auth = JwtAuth.fromConfig(config);
      var client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      var base = "http://127.0.0.1:" + node.httpPort();
      var users = 50;
      var tokens = new String[users];
      for (int u = 0; u < users; u++) tokens[u] = auth.mint("bench-" + u, Duration.ofHours(1));
      var accounts = new String[ACCOUNTS];
      var accountTokens = new String[ACCOUNTS];
      for (int i = 0; i < ACCOUNTS; i++) {
        accountTokens[i] = tokens[i % users];
        var response = client.send(HttpRequest.newBuilder(URI.create(base + "/v1/accounts"))
            .header("Authorization", "Bearer " + accountTokens[i]).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"currency\":\"EUR\"}")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 201) throw new IllegalStateException("open failed: " + response.body());
        accounts[i] = io.plaza.platform.Json.MAPPER.readTree(response.body()).get("accountId").asText();
      }
      var op = new AtomicLong();
      return closedLoop("HTTP deposits (persisted)", HTTP_IN_FLIGHT, () -> {
        int i = ThreadLocalRandom.current().nextInt(ACCOUNTS);
        var request = HttpRequest.newBuilder(URI.create(base + "/v1/accounts/" + accounts[i] + "/deposits"))
            .header("Authorization", "Bearer " + accountTokens[i]).header("Content-Type", "application/json")
            .header("Idempotency-Key", "op-" + op.incrementAndGet())
            .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":100}")).build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
            .thenApply(r -> r.statusCode() == 201);
      });
    }
  }

  /** Keeps {@code inFlight} operations running; counts and times only those finishing in the measured window. */
  static Result closedLoop(String name, int inFlight, Supplier<CompletionStage<Boolean>> operation)
      throws InterruptedException {
    var permits = new Semaphore(inFlight);
    var histogram = new ConcurrentHistogram(3_600_000_000L, 3);
    var ops = new AtomicLong();
    var errors = new AtomicLong();
    long start = System.nanoTime();
    long measureFrom = start + WARMUP.toNanos();
    long end = measureFrom + MEASURE.toNanos();
    while (System.nanoTime() < end) {
      permits.acquire();
      long t0 = System.nanoTime();
      operation.get().whenComplete((ok, error) -> {
        long t1 = System.nanoTime();
        if (t1 >= measureFrom && t1 < end) {
          if (error == null && ok) {
            ops.incrementAndGet();
            histogram.recordValue((t1 - t0) / 1000);
          } else {
            errors.incrementAndGet();
          }
        }
        permits.release();
      });
    }
    permits.acquire(inFlight);
    return new Result(name, ops.get(), errors.get(), MEASURE.toNanos() / 1e9, histogram);
  }

  private LedgerBench() {}
}
