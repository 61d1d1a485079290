package io.plaza.timeline;

import static io.plaza.platform.ItSupport.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.plaza.platform.ApiClient;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The timeline write API on one node over the real Cassandra journal: posts, follows, blocks, bad input. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TimelineApiIT {

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

  private ApiClient.Response put(String path, String token) {
    return api.send("PUT", path, token, null, Map.of());
  }

  private ApiClient.Response delete(String path, String token) {
    return api.send("DELETE", path, token, null, Map.of());
  }

  private static List<String> strings(com.fasterxml.jackson.databind.JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(n -> n.asText()).toList();
  }

  @Test
  void postsAreCreatedOnceAndDeletedByTheirAuthorOnly() {
    var tina = api.token("tina");
    var created = api.post("/v1/posts", tina, "{\"text\":\"hello timeline\"}", Map.of("Idempotency-Key", "p-1"));
    assertEquals(201, created.status(), created.toString());
    var postId = created.json().get("postId").asText();
    assertEquals("tina:1", postId);
    assertEquals("/v1/posts/tina:1", created.header("Location"));
    var retry = api.post("/v1/posts", tina, "{\"text\":\"hello timeline\"}", Map.of("Idempotency-Key", "p-1"));
    assertEquals(200, retry.status());
    assertEquals(postId, retry.json().get("postId").asText());
    assertEquals(1, api.get("/v1/users/tina", tina).json().get("posts").asLong());

    assertProblem(403, delete("/v1/posts/" + postId, api.token("tom")), "only the author");
    assertProblem(404, delete("/v1/posts/tina:9", tina), "does not exist");
    assertProblem(404, delete("/v1/posts/nonsense", tina), "not a post id");
    assertEquals(204, delete("/v1/posts/" + postId, tina).status());
    assertEquals(204, delete("/v1/posts/" + postId, tina).status());
    assertEquals(0, api.get("/v1/users/tina", tina).json().get("posts").asLong());
  }

  @Test
  void badPostsAreRefusedWithProblems() {
    var tina = api.token("tina-bad");
    assertProblem(400, api.post("/v1/posts", tina, "{\"text\":\"\"}", Map.of()), "text is required");
    assertProblem(422, api.post("/v1/posts", tina, "{\"text\":\"" + "x".repeat(281) + "\"}", Map.of()),
        "at most 280");
    assertProblem(400, api.post("/v1/posts", tina, "{\"text\":1}", Map.of()), "text");
    assertProblem(400, api.post("/v1/posts", tina, "{\"text\":\"hi\",\"extra\":true}", Map.of()), "extra");
    assertProblem(400, api.post("/v1/posts", tina, "{not json", Map.of()), "JSON");
    // 280 emoji: 560 UTF-16 units, 280 characters.
    assertEquals(201, api.post("/v1/posts", tina, "{\"text\":\"" + "\uD83D\uDE00".repeat(280) + "\"}", Map.of())
        .status());
  }

  @Test
  void followsAreConsistentOnBothSidesAndBlocksRemoveThem() {
    var una = api.token("una");
    var vic = api.token("vic");
    assertEquals(201, api.post("/v1/posts", vic, "{\"text\":\"I exist\"}", Map.of()).status());
    assertEquals(204, put("/v1/users/una/following/vic", una).status());
    assertEquals(204, put("/v1/users/una/following/vic", una).status(), "idempotent");
    assertEquals(1, api.get("/v1/users/vic", una).json().get("followers").asInt());
    assertEquals(List.of("vic"), strings(api.get("/v1/users/una", una).json().get("following")));
    assertEquals(204, put("/v1/users/vic/following/una", vic).status());

    // Vic blocks Una: the follows go both ways, and she cannot follow him again.
    assertEquals(204, put("/v1/users/vic/blocks/una", vic).status());
    io.plaza.platform.ItSupport.eventually(java.time.Duration.ofSeconds(10), () -> {
      var unaNow = api.get("/v1/users/una", una).json();
      assertEquals(List.of(), strings(unaNow.get("following")));
      assertEquals(0, unaNow.get("followers").asInt());
      return null;
    });
    assertEquals(0, api.get("/v1/users/vic", vic).json().get("followers").asInt());
    assertProblem(403, put("/v1/users/una/following/vic", una), "cannot follow");
    assertEquals(List.of("una"), strings(api.get("/v1/users/vic", vic).json().get("blocked")));
  }

  @Test
  void userPostsPageAcrossBucketsAndSkipDeletedPosts() {
    var repository = new CassandraUserPostsRepository(io.plaza.platform.Cassandra.session(node.system()),
        TestNodes.KEYSPACE);
    var at = java.time.Instant.parse("2026-11-25T10:00:00Z");
    var writes = new java.util.ArrayList<UserPostsRepository.Write>();
    for (long n = 990; n <= 1010; n++) writes.add(new UserPostsRepository.Created("bucketed", n, "post " + n,
        at.plusSeconds(n), n));
    for (long n = 1001; n <= 1003; n++) writes.add(new UserPostsRepository.Deleted("bucketed", n, at, 2000 + n));
    repository.apply(writes).toCompletableFuture().join();
    // 1010..1004 live in bucket 1, 1001..1003 deleted, 1000 in bucket 1, then bucket 0 from 999 down.
    var page = repository.page("bucketed", 1011, 12).toCompletableFuture().join();
    assertEquals(List.of(1010L, 1009L, 1008L, 1007L, 1006L, 1005L, 1004L, 1000L, 999L, 998L, 997L, 996L),
        page.stream().map(UserPostsRepository.Post::number).toList());
    assertEquals("bucketed:1000", page.get(7).postId());
    var rest = repository.page("bucketed", 996, 100).toCompletableFuture().join();
    assertEquals(List.of(995L, 994L, 993L, 992L, 991L, 990L), rest.stream().map(UserPostsRepository.Post::number)
        .toList());
    // A replayed creation never revives a deleted post (write timestamps are sequence numbers).
    repository.apply(List.of(new UserPostsRepository.Created("bucketed", 1002, "again", at, 1002)))
        .toCompletableFuture().join();
    assertEquals(false, repository.page("bucketed", 1011, 20).toCompletableFuture().join().stream()
        .anyMatch(p -> p.number() == 1002));
  }

  @Test
  void aHomeTimelineIsTrimmedToItsNewestItems() {
    var home = new CassandraHomeTimelineRepository(io.plaza.platform.Cassandra.session(node.system()),
        TestNodes.KEYSPACE);
    var at = java.time.Instant.parse("2026-11-25T10:00:00Z");
    for (int i = 1; i <= 30; i++) {
      home.insert(List.of("trimmed"), new HomeTimelineRepository.Item("a:" + i, "a", "t" + i, at.plusSeconds(i)))
          .toCompletableFuture().join();
    }
    home.trim("trimmed", 10).toCompletableFuture().join();
    var left = home.page("trimmed", null, 100).toCompletableFuture().join().stream()
        .map(HomeTimelineRepository.Item::postId).toList();
    assertEquals(java.util.stream.IntStream.rangeClosed(21, 30).map(i -> 51 - i).mapToObj(i -> "a:" + i).toList(),
        left);
    home.trim("trimmed", 10).toCompletableFuture().join();
    assertEquals(10, home.page("trimmed", null, 100).toCompletableFuture().join().size(), "trimming again: same");
  }

  @Test
  void followersAndFollowingArePagedWithoutGapsOrDuplicates() {
    var star = api.token("paged-star");
    assertEquals(201, api.post("/v1/posts", star, "{\"text\":\"hi\"}", Map.of()).status());
    var fans = new java.util.ArrayList<String>();
    for (int i = 0; i < 7; i++) {
      var fan = "paged-fan-" + i;
      fans.add(fan);
      assertEquals(204, put("/v1/users/" + fan + "/following/paged-star", api.token(fan)).status());
    }
    io.plaza.platform.ItSupport.eventually(java.time.Duration.ofSeconds(15), () -> {
      var seen = new java.util.ArrayList<String>();
      String cursor = null;
      do {
        var page = api.get("/v1/users/paged-star/followers?limit=3" + (cursor == null ? "" : "&cursor=" + cursor),
            star).json();
        seen.addAll(strings(page.get("items")));
        cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      } while (cursor != null);
      assertEquals(fans, seen);
      return null;
    });
    // `following` is written from the fan's events, `followers` from the star's: other tags, so either may land first.
    io.plaza.platform.ItSupport.eventually(java.time.Duration.ofSeconds(15), () -> {
      assertEquals(List.of("paged-star"), strings(api.get("/v1/users/paged-fan-3/following", star).json()
          .get("items")));
      return null;
    });
    assertProblem(400, api.get("/v1/users/paged-star/followers?limit=0", star), "limit");
    assertProblem(400, api.get("/v1/users/paged-star/followers?cursor=bad:cursor", star), "cursor");
  }

  @Test
  void badRelationsAreRefused() {
    var wes = api.token("wes");
    assertEquals(201, api.post("/v1/posts", wes, "{\"text\":\"first\"}", Map.of()).status());
    assertProblem(400, put("/v1/users/wes/following/wes", wes), "yourself");
    // A well-formed id is a user whether or not it used the timeline: following it works at once.
    assertEquals(204, put("/v1/users/wes/following/never-seen-before", wes).status());
    assertEquals(1, api.get("/v1/users/never-seen-before", wes).json().get("followers").asInt());
    assertProblem(403, put("/v1/users/xan/mutes/wes", wes), "only change your own");
    assertProblem(403, put("/v1/users/xan/following/wes", wes), "only change your own");
    assertProblem(404, put("/v1/users/wes/following/not:valid", wes), "not a user id");
    var nobody = api.get("/v1/users/nobody-ever", wes);
    assertEquals(200, nobody.status(), nobody.toString());
    assertEquals(0, nobody.json().get("posts").asInt());
    assertEquals(204, put("/v1/users/wes/mutes/xan", wes).status());
    assertEquals(List.of("xan"), strings(api.get("/v1/users/wes", wes).json().get("muted")));
    // Others see counts only, never whom one mutes or blocks.
    var seen = api.get("/v1/users/wes", api.token("xan")).json();
    assertEquals(false, seen.has("muted"));
    assertEquals(1, seen.get("following").asInt(), "wes follows never-seen-before");
  }
}
