package io.plaza.chat;

import static io.plaza.platform.ItSupport.assertProblem;
import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.ApiClient;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Conversations over REST on one node with the real Cassandra: membership, seqs, dedup and the history pages. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatApiIT {

  private PlazaNode node;
  private ApiClient api;
  private String alice;
  private String bob;
  private String carol;

  @BeforeAll
  void startNode() {
    node = TestNodes.start();
    api = new ApiClient(node.httpPort());
    alice = api.token("alice");
    bob = api.token("bob");
    carol = api.token("carol");
  }

  @AfterAll
  void stopNode() {
    if (node != null) node.close();
  }

  private ApiClient.Response post(String token, String conversation, String clientMsgId, String body) {
    return api.post("/v1/conversations/" + conversation + "/messages", token,
        "{\"clientMsgId\":\"" + clientMsgId + "\",\"body\":\"" + body + "\"}", Map.of());
  }

  @Test
  void aGroupGetsOrderedDedupedMessagesAndPagesOfHistory() {
    var created = api.post("/v1/conversations", alice,
        "{\"kind\":\"group\",\"title\":\"team\",\"members\":[\"bob\"]}", Map.of());
    assertEquals(201, created.status(), created.toString());
    var id = created.json().get("conversationId").asText();
    assertEquals("/v1/conversations/" + id, created.header("Location"));

    for (int i = 1; i <= 3; i++) {
      var r = post(alice, id, "a-" + i, "hello " + i);
      assertEquals(201, r.status(), r.toString());
      assertEquals(i, r.json().get("seq").asLong());
    }
    var retry = post(alice, id, "a-2", "hello 2");
    assertEquals(200, retry.status(), retry.toString());
    assertEquals("true", retry.header("Idempotent-Replayed"));
    assertEquals(2, retry.json().get("seq").asLong());
    assertEquals(4, post(bob, id, "b-1", "hi all").json().get("seq").asLong());
    // The public stream has the conversation's events in order, keyed by conversation id.
    var published = readTopic(TestNodes.CHAT_TOPIC, id, 5, Duration.ofSeconds(30));
    assertEquals(List.of("ConversationCreated", "MessagePosted", "MessagePosted", "MessagePosted", "MessagePosted"),
        published.stream().map(m -> m.get("type").asText()).toList(), published.toString());
    assertEquals(List.of(1L, 2L, 3L, 4L), published.stream().skip(1).map(m -> m.get("seq").asLong()).toList());

    var info = api.get("/v1/conversations/" + id, bob).json();
    assertEquals(4, info.get("lastSeq").asLong());
    assertEquals(4, info.get("unread").asLong());

    // Newest first, two per page, stable cursors; the history lags the entity (by a round trip, or about a second for
    // events the projection delivers).
    var first = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/conversations/" + id + "/messages?limit=2", bob);
      assertEquals(200, r.status(), r.toString());
      assertEquals(List.of("4", "3"), r.json().get("messages").findValuesAsText("seq"), r.toString());
      return r.json();
    });
    assertEquals("hi all", first.get("messages").get(0).get("body").asText());
    var second = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/conversations/" + id + "/messages?limit=2&before=" + first.get("nextCursor").asText(),
          bob).json();
      assertEquals(List.of("2", "1"), r.get("messages").findValuesAsText("seq"), r.toString());
      return r;
    });
    assertTrue(second.get("nextCursor").isNull(), second.toString());
    assertEquals("alice", second.get("messages").get(1).get("sender").asText());

    // Outsiders see and post nothing; members are managed by the admins.
    assertProblem(403, ChatProblem.NOT_A_MEMBER,
        api.get("/v1/conversations/" + id + "/messages", carol), "only members");
    assertProblem(403, ChatProblem.NOT_A_MEMBER, post(carol, id, "c-1", "let me in"), "only members");
    assertProblem(403, ChatProblem.NOT_A_MEMBER, api.get("/v1/conversations/" + id, carol), "only members");
    assertProblem(403, ChatProblem.NOT_AN_ADMIN,
        api.post("/v1/conversations/" + id + "/members", bob, "{\"users\":[\"carol\"]}", Map.of()),
        "admins");
    assertEquals(200, api.post("/v1/conversations/" + id + "/members", alice, "{\"users\":[\"carol\"]}",
        Map.of()).status());
    assertEquals(5, post(carol, id, "c-1", "thanks").json().get("seq").asLong());
    assertEquals(204, api.send("DELETE", "/v1/conversations/" + id + "/members/carol", carol, null, Map.of())
        .status());
    assertProblem(403, post(carol, id, "c-2", "still here?"), "only members");

    // Inboxes: bob sees the group with its last message and 5 unread; carol, who left, no longer sees it.
    eventually(Duration.ofSeconds(20), () -> {
      var inbox = api.get("/v1/conversations", bob).json().get("conversations");
      var entry = findConversation(inbox, id);
      assertEquals(5, entry.get("lastSeq").asLong(), inbox.toString());
      assertEquals("carol", entry.get("lastSender").asText());
      assertEquals("thanks", entry.get("lastBody").asText());
      assertEquals(5, entry.get("unread").asLong());
      assertEquals("team", entry.get("title").asText());
      var carols = api.get("/v1/conversations", carol).json().get("conversations");
      assertEquals(null, findConversation(carols, id), carols.toString());
      return inbox;
    });
  }

  @Test
  void theInboxTakesTheNewestMessageFromTheHistoryAcrossBuckets() {
    var session = io.plaza.platform.Cassandra.session(node.system());
    var history = new CassandraChatHistoryRepository(session, TestNodes.KEYSPACE);
    var inbox = new CassandraChatInboxRepository(session, TestNodes.KEYSPACE, history);
    var id = "bucketed-" + UUID.randomUUID();
    var user = "reader-" + UUID.randomUUID().toString().substring(0, 8);
    var at = java.time.Instant.parse("2026-12-07T10:00:00Z");
    long first = CassandraChatHistoryRepository.BUCKET_SIZE;
    inbox.apply(List.of(new ChatInboxRepository.Created(id, "group", "big", 1),
        new ChatInboxRepository.Joined(user, id, at, 1), new ChatInboxRepository.Read(user, id, first - 10, 2)))
        .toCompletableFuture().join();
    history.apply(List.of(new ChatHistoryRepository.Posted(id, first - 1, "dora", "d-1", "last of the first", at, 3)))
        .toCompletableFuture().join();
    var entry = inboxEntry(inbox, user);
    assertEquals(first - 1, entry.lastSeq());
    assertEquals("last of the first", entry.lastBody());
    assertEquals(9, entry.unread());
    assertEquals("big", entry.title());

    // The pointer may land before the bucket's first message: the read falls back a bucket.
    inbox.apply(List.of(new ChatInboxRepository.HistoryReached(id, 1, 4))).toCompletableFuture().join();
    assertEquals(first - 1, inboxEntry(inbox, user).lastSeq());
    history.apply(List.of(new ChatHistoryRepository.Posted(id, first, "erin", "e-1", "first of the next", at, 4)))
        .toCompletableFuture().join();
    entry = inboxEntry(inbox, user);
    assertEquals(first, entry.lastSeq());
    assertEquals("erin", entry.lastSender());
    assertEquals(10, entry.unread());
    // An edit shows in the inbox too: it is the history's row.
    history.apply(List.of(new ChatHistoryRepository.Edited(id, first, "first of the next (edited)", at, 5)))
        .toCompletableFuture().join();
    assertEquals("first of the next (edited)", inboxEntry(inbox, user).lastBody());
  }

  private static ChatInboxRepository.Entry inboxEntry(ChatInboxRepository inbox, String user) {
    var entries = inbox.inbox(user).toCompletableFuture().join();
    assertEquals(1, entries.size(), entries.toString());
    return entries.get(0);
  }

  private static com.fasterxml.jackson.databind.JsonNode findConversation(
      com.fasterxml.jackson.databind.JsonNode list, String id) {
    for (var item : list) {
      if (item.get("conversationId").asText().equals(id)) return item;
    }
    return null;
  }

  @Test
  void aDirectConversationIsTheSameForBothSides() {
    var mine = api.post("/v1/conversations", alice, "{\"kind\":\"direct\",\"with\":\"bob\"}", Map.of());
    assertEquals(201, mine.status(), mine.toString());
    var theirs = api.post("/v1/conversations", bob, "{\"kind\":\"direct\",\"with\":\"alice\"}", Map.of());
    assertEquals(mine.json().get("conversationId"), theirs.json().get("conversationId"));
    assertEquals("direct", theirs.json().get("kind").asText());
  }

  @Test
  void badRequestsGetProblemsAndChangeNothing() {
    var id = api.post("/v1/conversations", alice, "{\"kind\":\"group\",\"members\":[\"bob\"]}", Map.of())
        .json().get("conversationId").asText();
    var path = "/v1/conversations/" + id + "/messages";
    assertProblem(400, api.post(path, alice, "{\"body\":\"x\"}", Map.of()), "clientMsgId is required");
    assertProblem(400, api.post(path, alice, "{\"clientMsgId\":\"a b\",\"body\":\"x\"}", Map.of()), "clientMsgId");
    assertProblem(400, api.post(path, alice, "{\"clientMsgId\":\"k\"}", Map.of()), "body is required");
    assertProblem(400, api.post(path, alice, "{\"clientMsgId\":\"k\",\"body\":\"  \"}", Map.of()), "empty");
    assertProblem(422, post(alice, id, "k", "x".repeat(4097)), "larger than");
    assertProblem(400, api.post(path, alice, "{\"clientMsgId\":", Map.of()), "malformed JSON");
    assertProblem(400, api.post("/v1/conversations", alice, "{\"kind\":\"channel\"}", Map.of()), "kind must be");
    assertProblem(400, api.post("/v1/conversations", alice, "{\"kind\":\"direct\",\"with\":\"alice\"}", Map.of()),
        "another user");
    assertProblem(404, api.get("/v1/conversations/not-an-id/messages", alice), "not a valid id");
    assertProblem(404, api.get("/v1/conversations/" + UUID.randomUUID(), alice), "does not exist");
    assertProblem(400, api.get(path + "?limit=0", alice), "limit must be");
    assertEquals(0, api.get("/v1/conversations/" + id, alice).json().get("lastSeq").asLong());
  }
}
