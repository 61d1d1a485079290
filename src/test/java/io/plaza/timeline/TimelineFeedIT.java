package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.ApiClient;
import io.plaza.platform.ItSupport;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.StreamSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Home timelines end to end on the real Cassandra and Kafka: the projections, the `plaza.timeline.posts` topic, the
 * fan-out consumer and the home read. The celebrity threshold is 3 followers here (TestNodes).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TimelineFeedIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private PlazaNode node;
  private ApiClient api;

  @BeforeAll
  void start() {
    node = TestNodes.start();
    api = new ApiClient(node.httpPort());
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
  }

  private String token(String user) {
    return api.token(user);
  }

  private JsonNode home(String user, String cursor, int limit) {
    var response = api.get("/v1/timeline/home?limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor),
        token(user));
    assertEquals(200, response.status(), response.toString());
    return response.json();
  }

  private static List<String> ids(JsonNode page) {
    return StreamSupport.stream(page.get("items").spliterator(), false).map(i -> i.get("postId").asText()).toList();
  }

  private String post(String user, String text) {
    var created = api.post("/v1/posts", token(user), "{\"text\":\"" + text + "\"}", Map.of());
    assertEquals(201, created.status(), created.toString());
    return created.json().get("postId").asText();
  }

  private void follow(String user, String target) {
    var response = api.send("PUT", "/v1/users/" + user + "/following/" + target, token(user), null, Map.of());
    assertEquals(204, response.status(), response.toString());
  }

  /** Active (has read the home timeline) and known to the follows read model as a follower of each author. */
  private void activeFollower(String user, String... authors) {
    home(user, null, 1);
    for (var author : authors) {
      follow(user, author);
      ItSupport.eventually(WAIT, () -> {
        assertTrue(api.get("/v1/users/" + author + "/followers", token(author)).raw().body().contains(user));
        return null;
      });
    }
    // The activity row trails the read by the projection's lag.
    ItSupport.eventually(WAIT, () -> {
      var rows = io.plaza.platform.Cassandra.session(node.system()).selectAll("SELECT last_active FROM "
          + TestNodes.KEYSPACE + ".timeline_users WHERE user_id = ?", user).toCompletableFuture().join();
      assertTrue(!rows.isEmpty() && rows.get(0).getInstant("last_active") != null, user + " not active yet");
      return null;
    });
  }

  private List<String> pushedRows(String user) {
    return io.plaza.platform.Cassandra.session(node.system()).selectAll("SELECT post_id FROM " + TestNodes.KEYSPACE
        + ".home_timeline WHERE user_id = ?", user).toCompletableFuture().join().stream()
        .map(r -> r.getString("post_id")).toList();
  }

  @Test
  void aFollowedAuthorsPostIsFannedOutAndItsDeletionRemovesItEverywhere() {
    post("fo-author", "warming up");
    activeFollower("fo-reader", "fo-author");
    // The reader's first page is held in memory since their first read (HomeFeed): the post must reach it by the
    // fan-out's message, long before the feed's max-age (60 s) would make it read the table again.
    long postedAt = System.nanoTime();
    var postId = post("fo-author", "hello followers");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(ids(home("fo-reader", null, 10)).contains(postId));
      return null;
    });
    double shownAfter = (System.nanoTime() - postedAt) / 1e9;
    assertTrue(shownAfter < 10, "in the follower's home timeline in " + shownAfter + " s");
    assertTrue(pushedRows("fo-reader").contains(postId), "pushed into the follower's own rows");
    assertTrue(ids(home("fo-author", null, 10)).contains(postId), "and into the author's");

    long deletedAt = System.nanoTime();
    assertEquals(204, api.send("DELETE", "/v1/posts/" + postId, token("fo-author"), null, Map.of()).status());
    ItSupport.eventually(WAIT, () -> {
      assertTrue(!ids(home("fo-reader", null, 10)).contains(postId));
      assertTrue(!ids(home("fo-author", null, 10)).contains(postId));
      return null;
    });
    double seconds = (System.nanoTime() - deletedAt) / 1e9;
    assertTrue(seconds < 5, "gone from every feed in " + seconds + " s");
  }

  @Test
  void aCelebritysPostIsMergedAtReadTimeNotCopiedAndMutesAndBlocksFilter() {
    post("star", "before fame");
    post("fo-plain", "I exist");
    activeFollower("fan-1", "star");
    activeFollower("fan-2", "star");
    activeFollower("fan-3", "star", "fo-plain");
    ItSupport.eventually(WAIT, () -> {
      assertEquals(3, api.get("/v1/users/star", token("star")).json().get("followers").asInt());
      return null;
    });
    var starPost = post("star", "now I am a celebrity");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(ids(home("fan-1", null, 10)).contains(starPost), "merged in at read time");
      return null;
    });
    // Give the fan-out time to have (wrongly) copied it, then check it did not.
    var plain = post("fo-plain", "a normal author");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(pushedRows("fan-3").contains(plain));
      return null;
    });
    assertTrue(!pushedRows("fan-1").contains(starPost), "a celebrity's post is not copied into followers' rows");

    var mute = api.send("PUT", "/v1/users/fan-3/mutes/star", token("fan-3"), null, Map.of());
    assertEquals(204, mute.status());
    // The read filters with the `timeline_hidden` read model: the mute applies within the projection lag.
    ItSupport.eventually(WAIT, () -> {
      var fan3 = ids(home("fan-3", null, 20));
      assertTrue(!fan3.contains(starPost) && fan3.contains(plain), fan3.toString());
      return null;
    });
    var block = api.send("PUT", "/v1/users/fan-2/blocks/star", token("fan-2"), null, Map.of());
    assertEquals(204, block.status());
    ItSupport.eventually(WAIT, () -> {
      assertTrue(!ids(home("fan-2", null, 20)).contains(starPost));
      return null;
    });
    // Unmuting brings the author back.
    assertEquals(204, api.send("DELETE", "/v1/users/fan-3/mutes/star", token("fan-3"), null, Map.of()).status());
    ItSupport.eventually(WAIT, () -> {
      assertTrue(ids(home("fan-3", null, 20)).contains(starPost));
      return null;
    });
  }

  @Test
  void aRedeliveredPostDoesNotDuplicateAndPagesHaveNoGaps() throws Exception {
    post("page-author", "hello");
    activeFollower("page-reader", "page-author");
    var posted = new ArrayList<String>();
    for (int i = 1; i <= 12; i++) posted.add(post("page-author", "post " + i));
    ItSupport.eventually(WAIT, () -> {
      assertEquals(12, pushedRows("page-reader").stream().filter(posted::contains).count());
      return null;
    });
    // Kafka redelivers every post the reader got (at-least-once): the timeline does not change. Not "hello": it was
    // posted before the follow, so whether its first fan-out reached the reader depends on timing, and a redelivery
    // after the follow rightly does.
    var messages = ItSupport.readTopic(TestNodes.TIMELINE_TOPIC, "page-author", 13, WAIT).stream()
        .filter(message -> posted.contains(message.path("postId").asText())).toList();
    assertEquals(12, messages.size());
    var props = new Properties();
    props.put("bootstrap.servers", "127.0.0.1:" + TestNodes.KAFKA_PORT);
    try (var producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      for (var message : messages) {
        producer.send(new ProducerRecord<>(TestNodes.TIMELINE_TOPIC, "page-author", message.toString())).get();
      }
    }
    var before = pushedRows("page-reader").size();
    var marker = post("page-author", "after the redelivery");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(pushedRows("page-reader").contains(marker));
      return null;
    });
    assertEquals(before + 1, pushedRows("page-reader").size(), "the redelivered posts added nothing");

    // Pages of 5 while new posts arrive: every post once, newest first.
    var seen = new ArrayList<String>();
    String cursor = null;
    do {
      var page = home("page-reader", cursor, 5);
      seen.addAll(ids(page));
      cursor = page.path("nextCursor").isNull() || page.path("nextCursor").isMissingNode() ? null
          : page.get("nextCursor").asText();
      post("page-author", "meanwhile");
    } while (cursor != null);
    var expected = new ArrayList<>(List.of(marker));
    for (int i = 11; i >= 0; i--) expected.add(posted.get(i));
    assertEquals(expected, seen.subList(0, 13));
    assertEquals(before + 1, seen.size(), "every pushed row once: " + seen);
    assertEquals(seen.size(), new java.util.HashSet<>(seen).size(), "no duplicates");
  }

  @Test
  void theStreamPushesNewPostsAndDeletionsOfFollowedAuthorsLiveButNotMutedOnes() throws Exception {
    post("st-author", "hello");
    post("st-muted", "hello too");
    follow("st-reader", "st-author");
    follow("st-reader", "st-muted");
    assertEquals(204, api.send("PUT", "/v1/users/st-reader/mutes/st-muted", token("st-reader"), null, Map.of())
        .status());
    var lines = new java.util.concurrent.LinkedBlockingQueue<String>();
    var http = java.net.http.HttpClient.newHttpClient();
    var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.httpPort()
        + "/v1/timeline/stream")).header("Authorization", "Bearer " + token("st-reader")).build();
    var response = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, response.statusCode());
    assertEquals("text/event-stream", response.headers().firstValue("Content-Type").orElse(""));
    var reader = new Thread(() -> response.body().forEach(lines::add));
    reader.setDaemon(true);
    reader.start();
    try {
      var muted = post("st-muted", "you will not see this live");
      var postId = post("st-author", "live!");
      var event = awaitEvent(lines, "post", postId);
      assertTrue(event.contains("live!"), event);
      assertEquals(204, api.send("DELETE", "/v1/posts/" + postId, token("st-author"), null, Map.of()).status());
      awaitEvent(lines, "delete", postId);
      Thread.sleep(1_000);
      assertTrue(lines.stream().noneMatch(l -> l.contains(muted)), "a muted author's post is not streamed");
    } finally {
      reader.interrupt();
      response.body().close();
    }
  }

  /** The data of the next SSE event of {@code type} mentioning {@code postId} (events end with a blank line). */
  private static String awaitEvent(java.util.concurrent.BlockingQueue<String> lines, String type, String postId)
      throws InterruptedException, java.io.IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    String event = null;
    var data = new StringBuilder();
    var seen = new ArrayList<String>();
    while (System.nanoTime() < deadline) {
      var line = lines.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
      if (line == null) continue;
      seen.add(line);
      if (line.startsWith("event:")) event = line.substring(6).trim();
      if (line.startsWith("data:")) data.append(line.substring(5));
      if (line.isEmpty()) {
        if (data.length() > 0) {
          var violations = io.plaza.platform.AsyncContract.get().violations("/v1/timeline/stream", data.toString());
          assertEquals(List.of(), violations, "as asyncapi.yaml says");
          // The event name is the data's type: a client may dispatch on either.
          var frame = io.plaza.platform.Json.MAPPER.readTree(data.toString());
          assertEquals(event, frame.path("type").asText(), data.toString());
        }
        if (type.equals(event) && data.indexOf("\"" + postId + "\"") >= 0) return data.toString();
        event = null;
        data.setLength(0);
      }
    }
    throw new AssertionError("no " + type + " event for " + postId + "; saw " + seen);
  }

  @Test
  void anInactiveUsersTimelineIsNotFannedOutToButRebuiltOnReturn() {
    post("rb-author", "first");
    // Follows without ever reading the home timeline: inactive for the fan-out.
    follow("rb-away", "rb-author");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(api.get("/v1/users/rb-author/followers", token("rb-author")).raw().body().contains("rb-away"));
      return null;
    });
    var postId = post("rb-author", "while you were away");
    activeFollower("rb-here", "rb-author");
    var later = post("rb-author", "for the active ones");
    ItSupport.eventually(WAIT, () -> {
      assertTrue(pushedRows("rb-here").contains(later));
      return null;
    });
    assertEquals(List.of(), pushedRows("rb-away"), "skipped by the fan-out");
    // The rebuild reads the read models (user_posts, timeline_users), each about a second behind its own way.
    ItSupport.eventually(WAIT, () -> {
      assertTrue(api.get("/v1/users/rb-author/posts", token("rb-author")).raw().body().contains(later));
      var row = io.plaza.platform.Cassandra.session(node.system()).selectOne("SELECT last_post FROM "
          + TestNodes.KEYSPACE + ".timeline_users WHERE user_id = ?", "rb-author").toCompletableFuture().join();
      assertTrue(row.isPresent() && row.get().getLong("last_post") >= 3, "last_post not there yet");
      return null;
    });
    var page = ids(home("rb-away", null, 10));
    assertTrue(page.containsAll(List.of(later, postId)), page.toString());
    assertTrue(pushedRows("rb-away").contains(later), "rebuilt into its rows");
  }

  /**
   * The rule a feed must keep: a post made after a follow was acknowledged reaches the follower. 100 authors at once
   * (8 in parallel), each followed by two users and posting right after each follow is confirmed: 200 follow-post
   * pairs. Half the followers read their timeline before following (the fan-out pushes to them), half read it for the
   * first time right after the post (rebuilt on their first read): both paths raced the projections before.
   */
  @Test
  void aPostMadeRightAfterAFollowIsAcknowledgedAlwaysReachesTheFollower() throws Exception {
    var expected = new java.util.concurrent.ConcurrentHashMap<String, List<String>>();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      var tasks = new java.util.ArrayList<java.util.concurrent.Future<?>>();
      for (int a = 0; a < 100; a++) {
        int author = a;
        tasks.add(pool.submit(() -> {
          var name = "race-" + author;
          var authorToken = token(name);
          var followers = new java.util.ArrayList<String>();
          for (int i = 0; i < 2; i++) {
            var follower = name + "-f" + i;
            var followerToken = token(follower);
            boolean readsFirst = (author + i) % 2 == 0;
            if (readsFirst) assertEquals(200, api.get("/v1/timeline/home?limit=1", followerToken).status());
            var followed = api.send("PUT", "/v1/users/" + follower + "/following/" + name, followerToken, null,
                Map.of());
            assertEquals(204, followed.status(), followed.toString());
            followers.add(follower);
            var created = api.post("/v1/posts", authorToken, "{\"text\":\"right after " + follower + "\"}",
                Map.of());
            assertEquals(201, created.status(), created.toString());
            var postId = created.json().get("postId").asText();
            for (var f : followers) expected.computeIfAbsent(f, k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                .add(postId);
            if (!readsFirst) assertEquals(200, api.get("/v1/timeline/home?limit=1", followerToken).status());
          }
          return null;
        }));
      }
      for (var task : tasks) task.get(5, java.util.concurrent.TimeUnit.MINUTES);
    } finally {
      pool.shutdownNow();
    }
    assertEquals(200, expected.size(), "200 follows, each followed at once by a post");
    // The first follower of each author must get both of its posts, the second the later one.
    assertEquals(300, expected.values().stream().mapToInt(List::size).sum());
    var missing = new java.util.TreeMap<String, List<String>>();
    ItSupport.eventually(Duration.ofSeconds(60), () -> {
      missing.clear();
      expected.forEach((follower, posts) -> {
        var page = ids(home(follower, null, 10));
        var lost = posts.stream().filter(p -> !page.contains(p)).toList();
        if (!lost.isEmpty()) missing.put(follower, lost);
      });
      assertEquals(Map.of(), missing, "posts made after an acknowledged follow that never reached the follower");
      return null;
    });
  }
}
