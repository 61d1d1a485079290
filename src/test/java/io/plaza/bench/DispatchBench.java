package io.plaza.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.dispatch.Driver;
import io.plaza.platform.Cassandra;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.PlazaNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * bin/bench dispatch: D driver WebSockets (default 2,000) in one city. (1) location pings at a fixed offered total
 * rate (default 20,000/s), then a check that every driver's last accepted ping is the last one it sent; (2) ride
 * requests over HTTP at a fixed rate (default 30/s) until N requests (default 20,000) while the drivers ping at
 * 1 Hz, accept every offer and drive the trip to completion at once: request → first offer p50/p99, and double
 * assignments counted three ways (an offer to a busy driver, an assignment to a busy driver, and afterwards from the
 * `rides` and `driver_trips` read models: two trips of one driver overlapping in time).
 */
public final class DispatchBench {

  private static final int CASSANDRA_PORT = Integer.getInteger("bench.cassandra.port", 29042);
  private static final int KAFKA_PORT = Integer.getInteger("bench.kafka.port", 29092);
  private static final Duration MEASURE = Duration.ofSeconds(Integer.getInteger("bench.seconds", 30));
  private static final int DRIVERS = Integer.getInteger("bench.dispatch.drivers", 2_000);
  private static final int PING_RATE = Integer.getInteger("bench.dispatch.ping-rate", 20_000);
  private static final int RIDE_RATE = Integer.getInteger("bench.dispatch.ride-rate", 30);
  private static final int REQUESTS = Integer.getInteger("bench.dispatch.requests", 20_000);
  private static final double LAT = 52.52;
  private static final double LNG = 13.405;

  /** One driver app: pings, accepts every offer, and completes the trip at once. */
  private static final class DriverApp {
    final String id;
    final int index;
    SourceQueueWithComplete<Message> ws;
    volatile double lat;
    volatile double lng;
    final AtomicLong lastAtNanos = new AtomicLong();
    final AtomicReference<String> ride = new AtomicReference<>();

    DriverApp(int index) {
      this.index = index;
      this.id = String.format("bd-%05d", index);
      var random = ThreadLocalRandom.current();
      lat = LAT + (random.nextDouble() - 0.5) * 0.1;
      lng = LNG + (random.nextDouble() - 0.5) * 0.16;
    }

    /** A strictly later device time, and a step that the time between the two pings allows at 8 m/s. */
    String nextPing() {
      long previous = lastAtNanos.get();
      long at = lastAtNanos.updateAndGet(prev -> Math.max(prev + 1_000_000, epochNanos()));
      double seconds = previous == 0 ? 0 : (at - previous) / 1e9;
      lat += (ThreadLocalRandom.current().nextBoolean() ? 1 : -1) * Math.min(8 * seconds, 50) / 111_195.0;
      return String.format("{\"type\":\"ping\",\"lat\":%.7f,\"lng\":%.7f,\"heading\":90,\"speed\":8,\"at\":\"%s\"}",
          lat, lng, Instant.ofEpochSecond(0, at));
    }

    void send(String json) {
      ws.offer(TextMessage.create(json));
    }
  }

  private static long epochNanos() {
    var now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  private static final AtomicLong pingErrors = new AtomicLong();
  private static final AtomicLong otherErrors = new AtomicLong();
  private static final AtomicLong offersToBusy = new AtomicLong();
  private static final AtomicLong assignedWhileBusy = new AtomicLong();
  private static final AtomicLong completed = new AtomicLong();
  private static final AtomicLong disconnects = new AtomicLong();
  private static final Map<String, Long> requestedAt = new ConcurrentHashMap<>();
  private static final ConcurrentHistogram firstOffer = new ConcurrentHistogram(3_600_000_000L, 3);

  public static void main(String[] args) throws Exception {
    var out = new ArrayList<String>();
    out.add(String.format("Plaza dispatch benchmark — %s, %d cores, %d driver WebSockets, pings at %d/s offered "
            + "for %d s, then %d ride requests at %d/s", java.time.LocalDate.now(),
        Runtime.getRuntime().availableProcessors(), DRIVERS, PING_RATE, MEASURE.toSeconds(), REQUESTS, RIDE_RATE));
    // The production offer window and staleness, not the tests' short ones.
    var config = io.plaza.platform.TestNodes.config("bench_dispatch_" + System.currentTimeMillis(),
            "bench.plaza.ledger.accounts", CASSANDRA_PORT, KAFKA_PORT)
        .withValue("plaza.dispatch.offer-timeout", com.typesafe.config.ConfigValueFactory.fromAnyRef("15s"))
        .withValue("plaza.dispatch.driver-stale-after", com.typesafe.config.ConfigValueFactory.fromAnyRef("30s"));
    try (var node = PlazaNode.start(config);
        var client = new BenchHttpClient("http://127.0.0.1:" + node.httpPort(), 256)) {
      var auth = JwtAuth.fromConfig(config);
      var drivers = new DriverApp[DRIVERS];
      for (int i = 0; i < DRIVERS; i++) {
        var d = new DriverApp(i);
        drivers[i] = d;
        d.ws = BenchSockets.connect(client.system(), node.httpPort(), "/v1/dispatch/driver/ws",
            auth.mint(d.id, Duration.ofHours(3)), frame -> received(d, frame), disconnects::incrementAndGet);
        d.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
        d.send(d.nextPing());
      }
      Thread.sleep(3_000);

      // (1) Pings at a fixed offered rate, round robin over the drivers.
      long interval = 1_000_000_000L / PING_RATE;
      long start = System.nanoTime();
      long end = start + MEASURE.toNanos();
      long next = start;
      long sent = 0;
      while (next < end) {
        long wait = next - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(wait);
        drivers[(int) (sent % DRIVERS)].send(drivers[(int) (sent % DRIVERS)].nextPing());
        sent++;
        next += interval;
      }
      double sentSeconds = (System.nanoTime() - start) / 1e9;
      Thread.sleep(5_000);
      // Every driver's last accepted ping must be the last one it sent (pings are not acknowledged one by one).
      var sharding = ClusterSharding.get(node.system());
      long current = 0;
      for (var d : drivers) {
        var status = (Driver.DriverStatus) sharding.entityRefFor(Driver.ENTITY_KEY, d.id)
            .<Driver.Reply>ask(Driver.GetStatus::new, Duration.ofSeconds(10)).toCompletableFuture().join();
        var last = status.lastPing() == null ? 0
            : status.lastPing().at().getEpochSecond() * 1_000_000_000L + status.lastPing().at().getNano();
        if (last == d.lastAtNanos.get()) current++;
      }
      out.add(String.format("(1) pings: %d sent in %.1f s = %.0f/s offered-and-sent (goal 20,000/s); refused by the "
              + "node: %d; drivers whose last accepted ping is their last sent: %d of %d", sent, sentSeconds,
          sent / sentSeconds, pingErrors.get(), current, DRIVERS));
      System.out.println(out.get(out.size() - 1));

      // (2) Ride requests while every driver pings at 1 Hz.
      var pinger = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          long t0 = System.nanoTime();
          for (var d : drivers) d.send(d.nextPing());
          LockSupport.parkNanos(Math.max(0, 1_000_000_000L - (System.nanoTime() - t0)));
        }
      }, "pinger");
      pinger.setDaemon(true);
      pinger.start();
      var riders = new String[1_000];
      for (int i = 0; i < riders.length; i++) riders[i] = auth.mint(String.format("br-%04d", i), Duration.ofHours(3));
      var rideIds = new ArrayList<String>(REQUESTS);
      var httpErrors = new AtomicLong();
      long rideInterval = 1_000_000_000L / RIDE_RATE;
      long rideStart = System.nanoTime();
      long nextRide = rideStart;
      var random = ThreadLocalRandom.current();
      for (int n = 0; n < REQUESTS; n++) {
        long wait = nextRide - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(wait);
        var rider = String.format("br-%04d", n % riders.length);
        var key = "bench-" + n;
        // The ride id the node derives from (rider, Idempotency-Key): known before the request, so an offer that
        // beats the HTTP answer is still matched to its request.
        var rideId = UUID.nameUUIDFromBytes((rider + "\n" + key).getBytes(StandardCharsets.UTF_8)).toString();
        rideIds.add(rideId);
        double lat = LAT + (random.nextDouble() - 0.5) * 0.1;
        double lng = LNG + (random.nextDouble() - 0.5) * 0.16;
        requestedAt.put(rideId, System.nanoTime());
        client.post("/v1/rides", riders[n % riders.length], String.format("{\"pickup\":{\"lat\":%.6f,\"lng\":%.6f},"
                + "\"dropoff\":{\"lat\":%.6f,\"lng\":%.6f},\"vehicleType\":\"car\"}", lat, lng, lat + 0.01, lng + 0.01),
            key).whenComplete((r, e) -> {
              if (e != null || r.status() != 201) {
                if (httpErrors.incrementAndGet() <= 3) {
                  System.out.println("ride request failed: " + (e != null ? e : r.status() + " " + r.body()));
                }
              }
            });
        nextRide += rideInterval;
      }
      double rideSeconds = (System.nanoTime() - rideStart) / 1e9;
      Thread.sleep(10_000); // the last offers, accepts and completions
      pinger.interrupt();
      var session = Cassandra.session(node.system());
      var keyspace = config.getString("plaza.cassandra.keyspace");
      var outcome = tripsCheck(session, keyspace, rideIds, drivers);
      out.add(String.format("(2) ride requests: %d in %.1f s = %.0f/s; HTTP errors %d; request → first offer p50 %.1f "
              + "ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms over %d offered rides (goal p99 <= 50 ms); trips completed "
              + "%d; %s", REQUESTS, rideSeconds, REQUESTS / rideSeconds, httpErrors.get(), ms(50), ms(95), ms(99),
          firstOffer.getMaxValue() / 1000.0, firstOffer.getTotalCount(), completed.get(), outcome));
      out.add(String.format("    double assignments: offers to a busy driver %d, assignments to a busy driver %d "
              + "(must be 0); other error frames %d; WebSocket disconnects %d", offersToBusy.get(),
          assignedWhileBusy.get(), otherErrors.get(), disconnects.get()));
    }
    var text = String.join("\n", out) + "\n";
    System.out.print(text);
    var file = System.getProperty("bench.result.file");
    if (file != null) Files.writeString(Path.of(file), text, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    System.exit(0);
  }

  private static double ms(double percentile) {
    return firstOffer.getValueAtPercentile(percentile) / 1000.0;
  }

  private static void received(DriverApp d, JsonNode frame) {
    switch (frame.path("type").asText()) {
      case "offer" -> {
        var rideId = frame.get("rideId").asText();
        var sent = requestedAt.remove(rideId); // the FIRST offer of the ride only
        if (sent != null) firstOffer.recordValue((System.nanoTime() - sent) / 1000);
        if (d.ride.get() != null) {
          offersToBusy.incrementAndGet();
          d.send("{\"type\":\"decline\",\"rideId\":\"" + rideId + "\"}");
        } else {
          d.send("{\"type\":\"accept\",\"rideId\":\"" + rideId + "\"}");
        }
      }
      case "status" -> {
        if (!"assigned".equals(frame.path("status").asText())) return;
        var rideId = frame.get("rideId").asText();
        if (!d.ride.compareAndSet(null, rideId)) {
          assignedWhileBusy.incrementAndGet();
          return;
        }
        for (var stage : List.of("arrived", "started")) {
          d.send("{\"type\":\"" + stage + "\",\"rideId\":\"" + rideId + "\"}");
        }
        // Free from the moment it says so: an offer before this point is an offer to a busy driver.
        d.ride.set(null);
        d.send("{\"type\":\"completed\",\"rideId\":\"" + rideId + "\"}");
      }
      case "ride" -> {
        if ("completed".equals(frame.path("status").asText())) completed.incrementAndGet();
      }
      case "error" -> {
        if (!frame.path("detail").asText().startsWith("ping refused")) {
          otherErrors.incrementAndGet();
        } else if (pingErrors.incrementAndGet() <= 3) {
          System.out.println("ping refused: " + frame);
        }
      }
      default -> { }
    }
  }

  /**
   * From the read models, once they caught up (every requested ride in an ended status, or 5 minutes): per driver, its
   * trips by assignment time; two overlap when one was assigned before the previous one completed. Also counts the
   * rides by final status.
   */
  private static String tripsCheck(org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession session,
      String keyspace, List<String> rideIds, DriverApp[] drivers) throws InterruptedException {
    var statuses = new HashMap<String, Integer>();
    var endedAt = new HashMap<String, Instant>();
    long waitUntil = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    long caughtUpAfter = System.nanoTime();
    while (true) {
      statuses.clear();
      endedAt.clear();
      for (int i = 0; i < rideIds.size(); i += 100) {
        var chunk = rideIds.subList(i, Math.min(rideIds.size(), i + 100));
        for (var row : session.selectAll("SELECT ride_id, status, updated_at FROM " + keyspace
            + ".rides WHERE ride_id IN ?", chunk).toCompletableFuture().join()) {
          statuses.merge(row.getString("status"), 1, Integer::sum);
          if ("completed".equals(row.getString("status"))) endedAt.put(row.getString("ride_id"),
              row.getInstant("updated_at"));
        }
      }
      // Rides whose request failed (a 503 after the ask timeout) may not exist: wait only for those that do.
      int ended = statuses.getOrDefault("completed", 0) + statuses.getOrDefault("no_drivers_available", 0)
          + statuses.getOrDefault("cancelled", 0);
      int exist = statuses.values().stream().mapToInt(Integer::intValue).sum();
      if (ended >= exist || System.nanoTime() > waitUntil) break;
      Thread.sleep(5_000);
    }
    double waited = (System.nanoTime() - caughtUpAfter) / 1e9;
    long overlaps = 0;
    long open = 0;
    long trips = 0;
    for (var d : drivers) {
      var rows = session.selectAll("SELECT assigned_at, ride_id FROM " + keyspace + ".driver_trips WHERE driver_id = ?",
          d.id).toCompletableFuture().join();
      Instant laterAssigned = null; // rows are newest first
      for (var row : rows) {
        trips++;
        var ended = endedAt.get(row.getString("ride_id"));
        if (ended == null) open++;
        else if (laterAssigned != null && ended.isAfter(laterAssigned)) overlaps++;
        laterAssigned = row.getInstant("assigned_at");
      }
    }
    return String.format("final statuses in the read model %s (after waiting %.0f s for it); %d driver trips, "
        + "overlapping trips of one driver %d (must be 0), trips not completed %d", new java.util.TreeMap<>(statuses),
        waited, trips, overlaps, open);
  }

  private DispatchBench() {}
}
