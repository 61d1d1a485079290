package io.plaza.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.Json;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.PlazaNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * bin/bench chat: N WebSocket users (one connection each), each in one direct conversation and one group of 20, send
 * messages at a fixed offered rate (open model: the rate does not slow down when the node does) — 80 % to the direct
 * conversation, 20 % to the group. Measures on the RECEIVING connections the time from send to the pushed message
 * (p50/p95/p99), the ack time, and after a drain counts lost (acked but not delivered to a member) and duplicated
 * deliveries. One stage per rate in {@code bench.chat.rates}.
 */
public final class ChatBench {

  private static final int CASSANDRA_PORT = Integer.getInteger("bench.cassandra.port", 29042);
  private static final int KAFKA_PORT = Integer.getInteger("bench.kafka.port", 29092);
  private static final Duration WARMUP = Duration.ofSeconds(Integer.getInteger("bench.warmup", 10));
  private static final Duration MEASURE = Duration.ofSeconds(Integer.getInteger("bench.seconds", 30));
  private static final int USERS = Integer.getInteger("bench.chat.connections", 1000) / 20 * 20;
  private static final String RATES = System.getProperty("bench.chat.rates", "200,300");
  private static final int GROUP_SIZE = 20;
  private static final Duration DRAIN = Duration.ofSeconds(120);

  /** What one stage counts; every message sent in the stage (warmup included) is checked for loss. */
  private static final class Stage {
    final ConcurrentHistogram deliverMicros = new ConcurrentHistogram(3_600_000_000L, 3);
    final ConcurrentHistogram ackMicros = new ConcurrentHistogram(3_600_000_000L, 3);
    /** "convId/clientMsgId" → send time (nanoTime). */
    final Map<String, Long> sentAt = new ConcurrentHashMap<>();
    /** "convId/clientMsgId" → members who must receive it (all but the sender), once acked. */
    final Map<String, Integer> expected = new ConcurrentHashMap<>();
    /** "convId/clientMsgId" → its seq, once acked. */
    final Map<String, Long> ackedSeq = new ConcurrentHashMap<>();
    /** "receiver|convId|seq" → times delivered. */
    final Map<String, Integer> delivered = new ConcurrentHashMap<>();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong acked = new AtomicLong();
    /** Acks that ARRIVED during the window: the throughput the node sustained under this load. */
    final AtomicLong ackArrivalsInWindow = new AtomicLong();
    final AtomicLong deliveriesInWindow = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong clientDrops = new AtomicLong();
    volatile long windowStart = Long.MAX_VALUE;
    double drainSeconds;
    boolean settled;
    volatile long windowEnd = Long.MAX_VALUE;

    boolean inWindow(long sendNanos) {
      return sendNanos >= windowStart && sendNanos < windowEnd;
    }
  }

  private static volatile Stage stage = new Stage();
  private static final AtomicLong disconnects = new AtomicLong();

  public static void main(String[] args) throws Exception {
    var out = new ArrayList<String>();
    out.add(String.format("Plaza chat benchmark — %s, %d cores, %d WebSocket connections (%d direct conversations,"
        + " %d groups of %d), warmup %d s, measure %d s per rate", java.time.LocalDate.now(),
        Runtime.getRuntime().availableProcessors(), USERS, USERS / 2, USERS / GROUP_SIZE, GROUP_SIZE,
        WARMUP.toSeconds(), MEASURE.toSeconds()));
    var config = io.plaza.platform.TestNodes.config("bench_chat_" + System.currentTimeMillis(),
        "bench.plaza.ledger.accounts", CASSANDRA_PORT, KAFKA_PORT);
    try (var node = PlazaNode.start(config);
        var client = new BenchHttpClient("http://127.0.0.1:" + node.httpPort(), 64)) {
      var auth = JwtAuth.fromConfig(config);
      var tokens = new String[USERS];
      for (int u = 0; u < USERS; u++) tokens[u] = auth.mint(user(u), Duration.ofHours(2));
      var direct = new String[USERS];
      var group = new String[USERS];
      createConversations(client, tokens, direct, group);
      var connections = new ArrayList<SourceQueueWithComplete<Message>>();
      for (int u = 0; u < USERS; u++) connections.add(connect(client, node.httpPort(), u, tokens[u]));
      Thread.sleep(2_000); // sessions attached, presence frames sent
      for (var rate : RATES.split(",")) {
        out.add(run(Integer.parseInt(rate.trim()), connections, direct, group));
        System.out.println(out.get(out.size() - 1));
      }
      out.add("connections closed by the node during the run: " + disconnects.get());
      connections.forEach(SourceQueueWithComplete::complete);
    }
    var text = String.join("\n", out) + "\n";
    System.out.print(text);
    var file = System.getProperty("bench.result.file");
    if (file != null) Files.writeString(Path.of(file), text, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    System.exit(0);
  }

  private static String user(int u) {
    return "chat-bench-" + u;
  }

  /** Users 2k and 2k+1 share a direct conversation; users 20g..20g+19 a group. Created 32 at a time over REST. */
  private static void createConversations(BenchHttpClient client, String[] tokens, String[] direct, String[] group)
      throws Exception {
    var permits = new Semaphore(32);
    var all = new ArrayList<CompletableFuture<?>>();
    for (int u = 0; u < USERS; u += 2) {
      int a = u;
      permits.acquire();
      all.add(client.post("/v1/conversations", tokens[a], "{\"kind\":\"direct\",\"with\":\"" + user(a + 1) + "\"}",
          null).whenComplete((r, e) -> permits.release()).thenAccept(r -> {
            var id = conversationId(r);
            direct[a] = id;
            direct[a + 1] = id;
          }).toCompletableFuture());
    }
    for (int g = 0; g < USERS; g += GROUP_SIZE) {
      int owner = g;
      var members = new StringBuilder();
      for (int m = g + 1; m < g + GROUP_SIZE; m++) members.append(m == g + 1 ? "" : ",").append('"').append(user(m))
          .append('"');
      permits.acquire();
      all.add(client.post("/v1/conversations", tokens[owner], "{\"kind\":\"group\",\"members\":[" + members + "]}",
          null).whenComplete((r, e) -> permits.release()).thenAccept(r -> {
            var id = conversationId(r);
            for (int m = owner; m < owner + GROUP_SIZE; m++) group[m] = id;
          }).toCompletableFuture());
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
  }

  private static String conversationId(BenchHttpClient.Response r) {
    if (r.status() != 201) throw new IllegalStateException("conversation not created: " + r.body());
    try {
      return Json.MAPPER.readTree(r.body()).get("conversationId").asText();
    } catch (Exception e) {
      throw new IllegalStateException(r.body(), e);
    }
  }

  private static SourceQueueWithComplete<Message> connect(BenchHttpClient client, int port, int u, String token)
      throws Exception {
    var me = user(u);
    return BenchSockets.connect(client.system(), port, "/v1/chat/ws", token, frame -> received(me, frame),
        disconnects::incrementAndGet);
  }

  private static void received(String me, JsonNode frame) {
    var s = stage;
    long now = System.nanoTime();
    switch (frame.path("type").asText()) {
      case "ack" -> {
        var key = frame.get("convId").asText() + "/" + frame.get("clientMsgId").asText();
        Long sent = s.sentAt.get(key);
        if (sent == null) return;
        s.ackedSeq.put(key, frame.get("seq").asLong());
        s.acked.incrementAndGet();
        if (now >= s.windowStart && now < s.windowEnd) s.ackArrivalsInWindow.incrementAndGet();
        if (s.inWindow(sent)) {
          s.ackMicros.recordValue((now - sent) / 1000);
        }
      }
      case "message" -> {
        var sender = frame.get("sender").asText();
        if (sender.equals(me)) return; // the sender's own device
        var conv = frame.get("convId").asText();
        s.delivered.merge(me + "|" + conv + "|" + frame.get("seq").asLong(), 1, Integer::sum);
        Long sent = s.sentAt.get(conv + "/" + frame.get("clientMsgId").asText());
        if (sent != null && s.inWindow(sent)) s.deliverMicros.recordValue((now - sent) / 1000);
        if (now >= s.windowStart && now < s.windowEnd) s.deliveriesInWindow.incrementAndGet();
      }
      case "error" -> s.errors.incrementAndGet();
      default -> { }
    }
  }

  private static String run(int rate, List<SourceQueueWithComplete<Message>> connections, String[] direct,
      String[] group) throws Exception {
    var s = new Stage();
    stage = s;
    var members = new ConcurrentHashMap<String, Integer>();
    for (int u = 0; u < USERS; u++) {
      members.put(direct[u], 2);
      members.put(group[u], GROUP_SIZE);
    }
    long start = System.nanoTime();
    s.windowStart = start + WARMUP.toNanos();
    s.windowEnd = s.windowStart + MEASURE.toNanos();
    long interval = 1_000_000_000L / rate;
    long next = start;
    long n = 0;
    var random = ThreadLocalRandom.current();
    while (next < s.windowEnd) {
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
      int u = random.nextInt(USERS);
      var conv = random.nextInt(5) == 0 ? group[u] : direct[u];
      var clientMsgId = "r" + rate + "-" + (++n);
      var key = conv + "/" + clientMsgId;
      s.sentAt.put(key, System.nanoTime());
      s.expected.put(key, members.get(conv) - 1);
      s.sent.incrementAndGet();
      var frame = "{\"type\":\"send\",\"convId\":\"" + conv + "\",\"clientMsgId\":\"" + clientMsgId
          + "\",\"body\":\"benchmark message " + n + " with a body of a typical chat length\"}";
      connections.get(u).offer(TextMessage.create(frame)).thenAccept(result -> {
        if (result != QueueOfferResult.enqueued()) s.clientDrops.incrementAndGet();
      });
      next += interval;
    }
    // Drain: until nothing new has arrived for 3 s (a backlog is late, not lost), at most DRAIN.
    long drainStart = System.nanoTime();
    long seen = -1;
    boolean settled = false;
    while (System.nanoTime() - drainStart < DRAIN.toNanos()) {
      long now = s.delivered.size() + s.acked.get();
      if (now == seen) {
        settled = true;
        break;
      }
      seen = now;
      Thread.sleep(3_000);
    }
    s.drainSeconds = (System.nanoTime() - drainStart) / 1e9;
    s.settled = settled;
    return report(rate, s);
  }

  /** Lost: an acked message a member never received. Unacked messages (errors, drops) are the sender's to retry. */
  private static String report(int rate, Stage s) {
    var receivers = new java.util.HashMap<String, Integer>(); // "convId|seq" → members who received it
    long duplicates = 0;
    for (var e : s.delivered.entrySet()) {
      receivers.merge(e.getKey().substring(e.getKey().indexOf('|') + 1), 1, Integer::sum);
      duplicates += e.getValue() - 1;
    }
    long lost = 0;
    for (var e : s.ackedSeq.entrySet()) {
      var conv = e.getKey().substring(0, e.getKey().indexOf('/'));
      lost += Math.max(0, s.expected.get(e.getKey()) - receivers.getOrDefault(conv + "|" + e.getValue(), 0));
    }
    double seconds = MEASURE.toNanos() / 1e9;
    return String.format("chat at %5d msg/s offered: %6.0f msg/s acked during the window, %7.0f deliveries/s;"
            + "  send->deliver p50 %6.1f ms  p95 %6.1f ms  p99 %7.1f ms  max %7.1f ms;"
            + "  ack p50 %6.1f ms  p99 %7.1f ms;  sent %d, acked %d, errors %d, client drops %d, %s %d, duplicated %d",
        rate, s.ackArrivalsInWindow.get() / seconds, s.deliveriesInWindow.get() / seconds,
        ms(s.deliverMicros, 50), ms(s.deliverMicros, 95), ms(s.deliverMicros, 99),
        s.deliverMicros.getMaxValue() / 1000.0, ms(s.ackMicros, 50), ms(s.ackMicros, 99), s.sent.get(),
        s.acked.get(), s.errors.get(), s.clientDrops.get(), s.settled ? "lost" : String.format(
            "still undelivered %.0f s after the load stopped (backlog, not settled)", s.drainSeconds), lost, duplicates);
  }

  private static double ms(ConcurrentHistogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1000.0;
  }
}
