package io.plaza.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * Steady chat, ledger and timeline traffic against a cluster, as real clients make it (any node, failover with the
 * same idempotency key or client message id), that remembers everything the cluster ACKNOWLEDGED, and afterwards
 * checks that each acknowledged write is there exactly once:
 * <ul>
 *   <li>chat: messages posted to one group; its history must hold every acked message once, at its acked seq, with
 *       seqs 1..n gap-free; each member's WebSocket (one per node) reconnects to another node when its node dies and
 *       syncs from the last seq it saw, and must end up with every message;</li>
 *   <li>ledger: transfers between accounts of one owner; every acked transfer completes, balances add up to what
 *       was deposited, and the invariant checker passes;</li>
 *   <li>timeline: posts by a few authors; each acked post is in the author's posts once, and no retry made a second
 *       post.</li>
 * </ul>
 */
final class ClusterTraffic implements AutoCloseable {

  private static final int ACCOUNTS = 6;
  private static final long DEPOSIT = 1_000_000;
  private static final List<String> MEMBERS = List.of("cm-0", "cm-1", "cm-2");
  // Ten authors spread the posts thinly enough that each author's newest keys stay within the window its entity
  // remembers (plaza.timeline.remembered-idempotency-keys, 1000 posts) over a whole rolling upgrade.
  private static final List<String> AUTHORS = java.util.stream.IntStream.range(0, 10).mapToObj(i -> "ta-" + i).toList();
  private static final int REMEMBERED_KEYS = 1000;

  private final LocalCluster cluster;
  final FailoverClient client;
  private final ActorSystem<Void> wsSystem = ActorSystem.create(Behaviors.empty(), "cluster-traffic-clients");
  private final Map<String, String> tokens = new ConcurrentHashMap<>();
  private final AtomicBoolean running = new AtomicBoolean();
  private final List<Thread> workers = new ArrayList<>();
  private final List<Throwable> workerFailures = new java.util.concurrent.CopyOnWriteArrayList<>();

  private String conversation;

  /** The group conversation the chat writer posts to. */
  String conversation() {
    return conversation;
  }

  /** The authors of the acknowledged posts. */
  Set<String> authors() {
    return Set.copyOf(ackedPosts.values());
  }

  private final List<String> accounts = new ArrayList<>();
  private final Map<String, Long> ackedChat = new ConcurrentHashMap<>(); // clientMsgId -> seq
  private final Set<String> ackedTransfers = ConcurrentHashMap.newKeySet();
  private final Map<String, String> ackedPosts = new ConcurrentHashMap<>(); // postId -> author
  private final Map<String, String[]> postKeys = new ConcurrentHashMap<>(); // Idempotency-Key -> {author, postId}
  private final List<ChatReceiver> receivers = new ArrayList<>();
  private final AtomicLong sequence = new AtomicLong();

  ClusterTraffic(LocalCluster cluster) {
    this.cluster = cluster;
    this.client = new FailoverClient(cluster.httpPorts(), i -> cluster.isRunning(i) && cluster.status(i, "/ready") == 200,
        Duration.ofSeconds(90));
  }

  private String token(String user) {
    return tokens.computeIfAbsent(user, u -> client.send("POST", "/v1/dev/tokens", null,
        "{\"userId\":\"" + u + "\"}", Map.of()).response().json().get("token").asText());
  }

  /** The group, the funded accounts and one chat WebSocket per member, member i on node i. */
  void setUp() {
    var members = String.join(",", MEMBERS.subList(1, MEMBERS.size()).stream().map(m -> "\"" + m + "\"").toList());
    var created = client.send("POST", "/v1/conversations", token(MEMBERS.get(0)),
        "{\"kind\":\"group\",\"members\":[" + members + "]}", Map.of()).response();
    check(created.status() == 201, "group created: " + created);
    conversation = created.json().get("conversationId").asText();
    for (int i = 0; i < ACCOUNTS; i++) {
      var opened = client.send("POST", "/v1/accounts", token("lo"), "{\"currency\":\"EUR\"}",
          Map.of("Idempotency-Key", "open-" + i)).response();
      check(opened.status() == 201 || opened.status() == 200, "account opened: " + opened);
      var id = opened.json().get("accountId").asText();
      accounts.add(id);
      var deposited = client.send("POST", "/v1/accounts/" + id + "/deposits", token("lo"),
          "{\"amount\":" + DEPOSIT + "}", Map.of("Idempotency-Key", "fund")).response();
      check(deposited.status() == 201 || deposited.status() == 200, "deposit: " + deposited);
    }
    for (int i = 0; i < MEMBERS.size(); i++) {
      receivers.add(new ChatReceiver(MEMBERS.get(i), i % cluster.size()));
    }
  }

  /** One acknowledged transfer between the first two accounts (checked with the others afterwards); its id. */
  String transferOnce(String key) {
    var r = client.send("POST", "/v1/transfers", token("lo"), String.format("{\"from\":\"%s\",\"to\":\"%s\","
        + "\"amount\":1,\"currency\":\"EUR\"}", accounts.get(0), accounts.get(1)), Map.of("Idempotency-Key", key))
        .response();
    check(r.status() == 201 || r.status() == 202, "transfer: " + r);
    var id = r.json().get("transferId").asText();
    ackedTransfers.add(id);
    return id;
  }

  /** Starts the writers: one chat sender, two transfer workers, one poster, each a request at a time. */
  void start() {
    running.set(true);
    worker("chat", () -> {
      var id = "m-" + sequence.incrementAndGet();
      var sender = MEMBERS.get(ThreadLocalRandom.current().nextInt(MEMBERS.size()));
      var r = client.send("POST", "/v1/conversations/" + conversation + "/messages", token(sender),
          "{\"clientMsgId\":\"" + id + "\",\"body\":\"hello " + id + "\"}", Map.of()).response();
      check(r.status() == 201 || r.status() == 200, "post message: " + r);
      ackedChat.put(id, r.json().get("seq").asLong());
    });
    for (int w = 0; w < 2; w++) {
      worker("ledger-" + w, () -> {
        var random = ThreadLocalRandom.current();
        int from = random.nextInt(ACCOUNTS);
        int to = (from + 1 + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
        var key = "t-" + sequence.incrementAndGet();
        var r = client.send("POST", "/v1/transfers", token("lo"), String.format("{\"from\":\"%s\",\"to\":\"%s\","
                + "\"amount\":%d,\"currency\":\"EUR\"}", accounts.get(from), accounts.get(to), 1 + random.nextInt(100)),
            Map.of("Idempotency-Key", key)).response();
        check(r.status() == 201 || r.status() == 202 || r.status() == 200, "transfer: " + r);
        ackedTransfers.add(r.json().get("transferId").asText());
      });
    }
    worker("timeline", () -> {
      var author = AUTHORS.get(ThreadLocalRandom.current().nextInt(AUTHORS.size()));
      var key = "p-" + sequence.incrementAndGet();
      var r = client.send("POST", "/v1/posts", token(author), "{\"text\":\"post " + key + "\"}",
          Map.of("Idempotency-Key", key)).response();
      check(r.status() == 201 || r.status() == 200, "post: " + r);
      ackedPosts.put(r.json().get("postId").asText(), author);
      postKeys.put(key, new String[] {author, r.json().get("postId").asText()});
    });
  }

  private void worker(String name, Runnable step) {
    var thread = new Thread(() -> {
      try {
        while (running.get()) {
          step.run();
          LocalCluster.sleep(20);
        }
      } catch (Throwable e) {
        workerFailures.add(e);
      }
    }, "traffic-" + name);
    thread.setDaemon(true);
    thread.start();
    workers.add(thread);
  }

  /** Stops the writers after their current request (which may still be retrying). */
  void stop() throws InterruptedException {
    running.set(false);
    for (var t : workers) t.join(TimeUnit.SECONDS.toMillis(120));
    workers.clear();
    if (!workerFailures.isEmpty()) {
      var e = new AssertionError("a traffic worker failed: " + workerFailures.get(0), workerFailures.get(0));
      workerFailures.stream().skip(1).forEach(e::addSuppressed);
      throw e;
    }
  }

  long acknowledged() {
    return ackedChat.size() + ackedTransfers.size() + ackedPosts.size();
  }

  /** The checks of the class comment; returns a one-line summary, throws on the first violation. */
  String verify(Duration settle) {
    var deadline = System.nanoTime() + settle.toNanos();
    var chat = verifyChat(deadline);
    var ledger = verifyLedger(deadline);
    var timeline = verifyTimeline(deadline);
    return chat + "; " + ledger + "; " + timeline;
  }

  private String verifyChat(long deadline) {
    // History (the chat_history read model) once it holds the last acked seq.
    long lastAcked = ackedChat.values().stream().mapToLong(Long::longValue).max().orElse(0);
    Map<Long, String> history = Map.of();
    while (System.nanoTime() < deadline) {
      history = chatHistory();
      if (history.size() >= lastAcked) break;
      LocalCluster.sleep(500);
    }
    for (long seq = 1; seq <= history.size(); seq++) {
      check(history.containsKey(seq), "chat seqs gap-free: seq " + seq + " missing of " + history.size());
    }
    var byClientId = new HashMap<String, Long>();
    history.forEach((seq, id) -> check(byClientId.put(id, seq) == null, "chat message " + id + " stored twice"));
    ackedChat.forEach((id, seq) -> check(seq.equals(byClientId.get(id)),
        "acked chat message " + id + " at seq " + seq + " is in history at " + byClientId.get(id)));
    // Every member's device got every message, across reconnects (a client deduplicates by seq).
    long reconnects = 0;
    for (var receiver : receivers) {
      while (System.nanoTime() < deadline && receiver.seqs.size() < history.size()) LocalCluster.sleep(250);
      for (long seq = 1; seq <= history.size(); seq++) {
        check(receiver.seqs.contains(seq), receiver.user + "'s device misses seq " + seq + " (reconnected "
            + receiver.reconnects.get() + " times)");
      }
      reconnects += receiver.reconnects.get();
    }
    return String.format("chat: %d acked, %d in history, seqs 1..%d gap-free, %d devices complete after %d "
        + "reconnects", ackedChat.size(), history.size(), history.size(), receivers.size(), reconnects);
  }

  private Map<Long, String> chatHistory() {
    var all = new HashMap<Long, String>();
    String cursor = null;
    do {
      var r = client.send("GET", "/v1/conversations/" + conversation + "/messages?limit=100"
          + (cursor == null ? "" : "&before=" + cursor), token(MEMBERS.get(0)), null, Map.of()).response();
      check(r.status() == 200, "history: " + r);
      for (var m : r.json().get("messages")) {
        check(all.put(m.get("seq").asLong(), m.get("clientMsgId").asText()) == null, "seq listed twice");
      }
      cursor = r.json().path("nextCursor").isTextual() ? r.json().get("nextCursor").asText() : null;
    } while (cursor != null);
    return all;
  }

  private String verifyLedger(long deadline) {
    var open = new HashSet<>(ackedTransfers);
    while (!open.isEmpty() && System.nanoTime() < deadline) {
      open.removeIf(id -> {
        var r = client.send("GET", "/v1/transfers/" + id, token("lo"), null, Map.of()).response();
        return r.status() == 200 && r.json().get("status").asText().equals("COMPLETED");
      });
      if (!open.isEmpty()) LocalCluster.sleep(500);
    }
    check(open.isEmpty(), open.size() + " acked transfers did not complete, e.g. " + open.stream().findFirst());
    long total = 0;
    for (var id : accounts) {
      var r = client.send("GET", "/v1/accounts/" + id, token("lo"), null, Map.of()).response();
      total += r.json().get("balance").asLong();
    }
    check(total == ACCOUNTS * DEPOSIT, "money is conserved: " + total + " != " + ACCOUNTS * DEPOSIT);
    var report = client.send("GET", "/v1/admin/ledger/check?settle=30", token("admin"), null, Map.of()).response();
    check(report.status() == 200 && report.json().get("passed").asBoolean(), "ledger checker: " + report);
    return String.format("ledger: %d acked transfers all completed, balances sum to the deposits, checker passed",
        ackedTransfers.size());
  }

  private String verifyTimeline(long deadline) {
    Map<String, Integer> seen = new HashMap<>();
    while (System.nanoTime() < deadline) {
      seen = new HashMap<>();
      for (var author : AUTHORS) {
        String cursor = null;
        do {
          var r = client.send("GET", "/v1/users/" + author + "/posts?limit=100"
              + (cursor == null ? "" : "&cursor=" + cursor), token(author), null, Map.of()).response();
          check(r.status() == 200, "posts: " + r);
          for (var item : r.json().get("items")) seen.merge(item.get("postId").asText(), 1, Integer::sum);
          cursor = r.json().path("nextCursor").isTextual() ? r.json().get("nextCursor").asText() : null;
        } while (cursor != null);
      }
      if (seen.keySet().containsAll(ackedPosts.keySet())) break;
      LocalCluster.sleep(500);
    }
    for (var id : ackedPosts.keySet()) check(seen.getOrDefault(id, 0) == 1, "acked post " + id + " listed "
        + seen.getOrDefault(id, 0) + " times");
    check(seen.size() == ackedPosts.size(), "posts that nobody acked (a retry applied twice): "
        + (seen.size() - ackedPosts.size()));
    // The entities (recovered from the journal wherever they live now) count the same posts.
    for (var author : AUTHORS) {
      long acked = ackedPosts.values().stream().filter(author::equals).count();
      var profile = client.send("GET", "/v1/users/" + author, token(author), null, Map.of()).response();
      check(profile.status() == 200 && profile.json().get("posts").asLong() == acked,
          author + "'s entity counts " + profile + ", acked " + acked);
    }
    return String.format("timeline: %d acked posts, each listed once, no extra, counted by their authors' entities",
        ackedPosts.size());
  }

  /** Per author, the Idempotency-Key of its newest post acknowledged so far. */
  Map<String, String> newestPostKeyByAuthor() {
    var newest = new HashMap<String, String>();
    postKeys.forEach((key, post) -> newest.merge(post[0], key,
        (a, b) -> postNumber(postKeys.get(a)[1]) >= postNumber(postKeys.get(b)[1]) ? a : b));
    return newest;
  }

  /**
   * Whether the author's entity must still remember {@code key}: it keeps the keys of its latest
   * {@value #REMEMBERED_KEYS} posts, and forgets older ones by design (a retry days and thousands of posts later
   * is not a retry).
   */
  boolean postKeyRemembered(String key) {
    var post = postKeys.get(key);
    long newest = ackedPosts.entrySet().stream().filter(e -> e.getValue().equals(post[0]))
        .mapToLong(e -> postNumber(e.getKey())).max().orElse(0);
    return newest - postNumber(post[1]) < REMEMBERED_KEYS - 50; // margin for posts in flight, not yet acked
  }

  private static long postNumber(String postId) {
    return Long.parseLong(postId.substring(postId.lastIndexOf(':') + 1));
  }

  /**
   * Sends the post of {@code key} again: its author's entity must answer with the post it made then (it read its
   * own events back, whichever release wrote them), and no new post. Returns the post id.
   */
  String replayPost(String key) {
    var original = postKeys.get(key);
    var r = client.send("POST", "/v1/posts", token(original[0]), "{\"text\":\"post " + key + "\"}",
        Map.of("Idempotency-Key", key)).response();
    check(r.status() == 200 || r.status() == 201, "replayed post: " + r);
    check(original[1].equals(r.json().get("postId").asText()), "replay of " + key + " answered " + r + ", not "
        + original[1]);
    return original[1];
  }

  private static void check(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  /**
   * One member's device on the chat WebSocket, as a real app keeps it complete: when its connection ends (its node
   * died) it reconnects to the next node after a short pause and syncs from the last seq it has; it also syncs when
   * a seq jumps (gap-free seqs make a missed push visible) and when the server says {@code resync} (the node that
   * held its session died, so pushes may have gone nowhere).
   */
  private final class ChatReceiver {
    final String user;
    final Set<Long> seqs = new ConcurrentSkipListSet<>();
    final AtomicLong reconnects = new AtomicLong();
    private volatile int node;
    private volatile boolean closed;
    private volatile SourceQueueWithComplete<Message> out;
    private boolean syncing;
    private boolean syncAgain;

    ChatReceiver(String user, int node) {
      this.user = user;
      this.node = node;
      connect();
    }

    private void connect() {
      if (closed) return;
      var materializer = Materializer.matFromSystem(wsSystem);
      Sink<Message, ?> sink = Flow.<Message>create()
          .mapAsync(1, m -> m.asTextMessage().toStrict(5_000, materializer))
          .to(Sink.foreach(m -> onFrame(Json.MAPPER.readTree(m.getStrictText()))));
      Flow<Message, Message, SourceQueueWithComplete<Message>> flow = Flow.fromSinkAndSourceCoupledMat(sink,
          Source.<Message>queue(100, OverflowStrategy.dropNew())
              .watchTermination((queue, done) -> {
                done.whenComplete((d, e) -> reconnectElsewhere());
                return queue;
              }), Keep.right());
      var request = WebSocketRequest.create("ws://127.0.0.1:" + cluster.httpPort(node) + "/v1/chat/ws")
          .addHeader(Authorization.oauth2(token(user)));
      var pair = Http.get(wsSystem).singleWebSocketRequest(request, flow, materializer);
      pair.first().whenComplete((upgrade, e) -> {
        if (e != null || upgrade.response().status().intValue() != 101) {
          pair.second().complete(); // ends the stream: reconnectElsewhere runs
          return;
        }
        synchronized (this) {
          out = pair.second();
          syncing = false; // an answer on the old connection is not coming
        }
        sync();
      });
    }

    /**
     * Asks for what comes after the last seq this device has without a gap; one sync at a time (an answer is a page
     * of at most 100 messages, ended by {@code synced}), again while {@code synced} says there is more or a gap was
     * seen meanwhile.
     */
    private synchronized void sync() {
      var queue = out;
      if (queue == null) return;
      if (syncing) {
        syncAgain = true;
        return;
      }
      syncing = true;
      syncAgain = false;
      queue.offer(TextMessage.create("{\"type\":\"sync\",\"convId\":\"" + conversation + "\",\"afterSeq\":"
          + contiguous() + "}"));
    }

    private long contiguous() {
      long after = 0;
      while (seqs.contains(after + 1)) after++;
      return after;
    }

    private synchronized void synced(long lastSeq) {
      syncing = false;
      if (syncAgain || contiguous() < lastSeq) sync();
    }

    private void onFrame(JsonNode frame) {
      var type = frame.path("type").asText();
      if ("resync".equals(type)) {
        sync();
      } else if ("synced".equals(type)) {
        synced(frame.get("seq").asLong());
      } else if ("message".equals(type) && conversation.equals(frame.path("convId").asText())) {
        long seq = frame.get("seq").asLong();
        boolean gap = seq > 1 && !seqs.contains(seq - 1);
        seqs.add(seq);
        if (gap) sync();
      }
    }

    private void reconnectElsewhere() {
      out = null;
      if (closed) return;
      reconnects.incrementAndGet();
      node = (node + 1) % cluster.size();
      wsSystem.scheduler().scheduleOnce(Duration.ofMillis(500), this::connect, wsSystem.executionContext());
    }
  }

  @Override
  public void close() {
    running.set(false);
    client.close();
    receivers.forEach(r -> r.closed = true);
    wsSystem.terminate();
  }
}
