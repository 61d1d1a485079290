package io.plaza.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.ApiClient;
import io.plaza.platform.NodeUnderTest;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import io.plaza.platform.WsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Real WebSocket clients against one node over the real Cassandra: live delivery, receipts, retries, sync. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatWebSocketIT {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private NodeUnderTest it;
  private PlazaNode node;
  private ApiClient api;
  private ActorSystem<Void> clients;

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("ws-clients");
    node = it.node;
    api = it.api;
    clients = it.clients;
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  private WsClient connect(String token) {
    var client = new WsClient(clients, node.httpPort(), "/v1/chat/ws", token);
    assertEquals(101, client.upgradeStatus);
    return client;
  }

  private static String send(String conv, String clientMsgId, String body) {
    return "{\"type\":\"send\",\"convId\":\"" + conv + "\",\"clientMsgId\":\"" + clientMsgId + "\",\"body\":\""
        + body + "\"}";
  }

  @Test
  void messagesReceiptsRetriesAndStoreAndForward() {
    var alice = api.token("alice");
    var bob = api.token("bob");
    var conv = api.post("/v1/conversations", alice, "{\"kind\":\"group\",\"members\":[\"bob\"]}", Map.of())
        .json().get("conversationId").asText();
    try (var phone = connect(alice); var laptop = connect(alice); var bobPhone = connect(bob);
        var carol = connect(api.token("carol"))) {
      sleepForAttach();
      phone.send(send(conv, "m-1", "hi bob"));
      var ack = phone.await("ack", WAIT);
      assertEquals(1, ack.get("seq").asLong());
      assertEquals("m-1", ack.get("clientMsgId").asText());
      var atBob = bobPhone.await("message", WAIT);
      assertEquals("hi bob", atBob.get("body").asText());
      assertEquals(1, atBob.get("seq").asLong());
      assertEquals("alice", atBob.get("sender").asText());
      // Multi-device: the sender's other device sees the message too.
      assertEquals(1, laptop.await("message", WAIT).get("seq").asLong());

      // A retry is acked with the original seq and delivered to nobody again.
      phone.send(send(conv, "m-1", "hi bob"));
      assertEquals(1, phone.await("ack", WAIT).get("seq").asLong());
      assertTrue(bobPhone.drain(Duration.ofMillis(500)).stream().noneMatch(f -> f.path("type").asText()
          .equals("message")), "a retry must not be delivered again");

      // Receipts reach the sender.
      bobPhone.send("{\"type\":\"read\",\"convId\":\"" + conv + "\",\"seq\":1}");
      var read = phone.await("read", WAIT);
      assertEquals("bob", read.get("user").asText());
      assertEquals(1, read.get("seq").asLong());
      // Bob's inbox shows the conversation read up to its last message.
      io.plaza.platform.ItSupport.eventually(WAIT.multipliedBy(2), () -> {
        var inbox = api.get("/v1/conversations", bob).json().get("conversations");
        var entry = java.util.stream.StreamSupport.stream(inbox.spliterator(), false)
            .filter(item -> item.get("conversationId").asText().equals(conv)).findFirst()
            .orElseThrow(() -> new AssertionError("not in the inbox yet: " + inbox));
        assertEquals(1, entry.get("lastSeq").asLong(), entry.toString());
        assertEquals(0, entry.get("unread").asLong(), entry.toString());
        return entry;
      });

      // The author edits and deletes; everyone sees it, and nobody else may.
      phone.send("{\"type\":\"edit\",\"convId\":\"" + conv + "\",\"seq\":1,\"body\":\"hi Bob\"}");
      assertEquals("hi Bob", bobPhone.await("edit", WAIT).get("body").asText());
      bobPhone.send("{\"type\":\"delete\",\"convId\":\"" + conv + "\",\"seq\":1}");
      assertEquals("not-message-author", bobPhone.await("error", WAIT).get("code").asText());

      // Typing is relayed to the other members, not persisted.
      bobPhone.send("{\"type\":\"typing\",\"convId\":\"" + conv + "\"}");
      assertEquals("bob", phone.await("typing", WAIT).get("user").asText());

      // Bad frames get error frames and the connection stays open.
      phone.send("{not json");
      assertEquals("invalid-request", phone.await("error", WAIT).get("code").asText());
      phone.send("{\"type\":\"shout\",\"convId\":\"" + conv + "\"}");
      assertTrue(phone.await("error", WAIT).get("detail").asText().contains("unknown frame type"));
      phone.send(send(conv, "m-big", "x".repeat(5_000)));
      assertEquals("body-too-large", phone.await("error", WAIT).get("code").asText());
      carol.send(send(conv, "c-1", "let me in"));
      assertEquals("not-a-member", carol.await("error", WAIT).get("code").asText());
      phone.send(send(conv, "m-2", "still open"));
      assertEquals(2, phone.await("ack", WAIT).get("seq").asLong());
    }

    // Bob was away for two messages; on reconnect he syncs from his last seen seq and gets exactly those, in order.
    try (var phone = connect(alice)) {
      phone.send(send(conv, "m-3", "while you were out"));
      assertEquals(3, phone.await("ack", WAIT).get("seq").asLong());
    }
    try (var bobAgain = connect(bob)) {
      bobAgain.send("{\"type\":\"sync\",\"convId\":\"" + conv + "\",\"afterSeq\":1}");
      var second = bobAgain.await("message", WAIT);
      var third = bobAgain.await("message", WAIT);
      assertEquals(List.of(2L, 3L), List.of(second.get("seq").asLong(), third.get("seq").asLong()));
      assertEquals("while you were out", third.get("body").asText());
      var synced = bobAgain.await("synced", WAIT);
      assertEquals(3, synced.get("seq").asLong(), "the conversation's last seq: bob has caught up");
      assertTrue(bobAgain.drain(Duration.ofMillis(500)).stream().noneMatch(f -> f.path("type").asText()
          .equals("message")), "nothing twice");
    }
  }

  @Test
  void aFullGroupOf500DeliversEveryMessageInOrderToEveryDevice() {
    var owner = api.token("owner-500");
    var members = new StringBuilder();
    for (int i = 1; i < 500; i++) members.append(i == 1 ? "" : ",").append("\"m").append(i).append('"');
    var created = api.post("/v1/conversations", owner, "{\"kind\":\"group\",\"members\":[" + members + "]}",
        Map.of());
    assertEquals(201, created.status(), created.toString());
    assertEquals(500, created.json().get("members").size());
    var conv = created.json().get("conversationId").asText();
    assertEquals(422, api.post("/v1/conversations/" + conv + "/members", owner, "{\"users\":[\"m500\"]}",
        Map.of()).status());

    // Five devices of one member and one device of three others, all connected at once.
    var devices = new java.util.ArrayList<WsClient>();
    try (var sender = connect(owner)) {
      for (int d = 0; d < 5; d++) devices.add(connect(api.token("m1")));
      for (var m : List.of("m2", "m250", "m499")) devices.add(connect(api.token(m)));
      sleepForAttach();
      for (int i = 1; i <= 20; i++) sender.send(send(conv, "g-" + i, "msg " + i));
      for (int i = 1; i <= 20; i++) assertEquals(i, sender.await("ack", WAIT).get("seq").asLong());
      for (var device : devices) {
        var seqs = new java.util.ArrayList<Long>();
        for (int i = 1; i <= 20; i++) seqs.add(device.await("message", WAIT).get("seq").asLong());
        assertEquals(java.util.stream.LongStream.rangeClosed(1, 20).boxed().toList(), seqs, "in order, once each");
      }
    } finally {
      devices.forEach(WsClient::close);
    }
  }

  @Test
  void membersWithNoDeviceConnectedGetAPushNotificationTheOthersDoNot() {
    var alice = api.token("alice");
    var conv = api.post("/v1/conversations", alice, "{\"kind\":\"group\",\"members\":[\"bob\",\"carol\"]}",
        Map.of()).json().get("conversationId").asText();
    try (var phone = connect(alice); var carol = connect(api.token("carol"))) {
      sleepForAttach();
      phone.send(send(conv, "p-1", "are you there?"));
      assertEquals(1, phone.await("ack", WAIT).get("seq").asLong());
      assertEquals(1, carol.await("message", WAIT).get("seq").asLong());
      var session = io.plaza.platform.Cassandra.session(node.system());
      io.plaza.platform.ItSupport.eventually(Duration.ofSeconds(30), () -> {
        assertEquals(List.of(1L), PushNotifications.notifiedSeqs(session, TestNodes.KEYSPACE, "bob", conv)
            .toCompletableFuture().join(), "bob has no device connected");
        return null;
      });
      // Carol was connected and Alice sent it: neither is notified (the consumer has already decided for bob).
      assertEquals(List.of(), PushNotifications.notifiedSeqs(session, TestNodes.KEYSPACE, "carol", conv)
          .toCompletableFuture().join());
      assertEquals(List.of(), PushNotifications.notifiedSeqs(session, TestNodes.KEYSPACE, "alice", conv)
          .toCompletableFuture().join());

      // The same message delivered again (after a crash, or a projection's restart rewind) pushes nothing again.
      var pushed = new java.util.concurrent.CopyOnWriteArrayList<String>();
      PushSender counting = n -> {
        pushed.add(n.userId());
        return java.util.concurrent.CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
      };
      var insert = PushNotifications.prepareRecord(session, TestNodes.KEYSPACE);
      var again = new ChatEventMessage(ChatEventMessage.SCHEMA_VERSION, "MessagePosted", conv, 1,
          java.time.Instant.now(), 1L, "alice", "p-1", "are you there?", null, null, null);
      PushNotifications.record("bob", again, session, insert, counting).toCompletableFuture().join();
      assertEquals(List.of(), pushed, "bob was notified of it once already");
      PushNotifications.record("dave", again, session, insert, counting).toCompletableFuture().join();
      assertEquals(List.of("dave"), pushed, "a member not notified yet is");
    }
  }

  @Test
  void contactsSeeEachOtherComeOnlineAndGoOfflineWithLastSeen() {
    var ann = api.token("ann");
    var ben = api.token("ben");
    var conv = api.post("/v1/conversations", ann, "{\"kind\":\"direct\",\"with\":\"ben\"}", Map.of())
        .json().get("conversationId").asText();
    // Contacts come from the inbox projection (the direct conversation), about a second behind.
    io.plaza.platform.ItSupport.eventually(WAIT, () -> {
      assertTrue(api.get("/v1/conversations", ben).raw().body().contains(conv));
      return null;
    });
    sleepForAttach();
    try (var benPhone = connect(ben); var stranger = connect(api.token("cleo"))) {
      assertEquals(false, presence(benPhone, "ann").get("online").asBoolean(), "ann is not connected yet");
      java.time.Instant before;
      try (var annPhone = connect(ann)) {
        assertTrue(presence(benPhone, "ann").get("online").asBoolean(), "ben is told that ann came online");
        assertTrue(presence(annPhone, "ben").get("online").asBoolean(), "ann's new device learns ben is online");
        before = java.time.Instant.now();
      }
      // Offline after the grace period, with the time she was last seen.
      var offline = benPhone.await(f -> "presence".equals(f.path("type").asText())
          && "ann".equals(f.path("user").asText()) && !f.path("online").asBoolean(), Duration.ofSeconds(20));
      var lastSeen = java.time.Instant.parse(offline.get("at").asText());
      assertTrue(!lastSeen.isBefore(before.minusSeconds(1)), lastSeen + " vs " + before);
      assertTrue(stranger.drain(Duration.ofMillis(200)).stream().noneMatch(f -> "presence".equals(
          f.path("type").asText())), "presence goes to contacts only");
    }
  }

  private static com.fasterxml.jackson.databind.JsonNode presence(WsClient device, String of) {
    return device.await(f -> "presence".equals(f.path("type").asText()) && of.equals(f.path("user").asText()), WAIT);
  }

  @Test
  void aClientThatDoesNotReadIsDisconnectedWithAReasonAndNobodyElseNotices() throws Exception {
    var fast = api.token("fast-talker");
    // Five conversations, so that five entities persist in parallel and the buffers fill sooner.
    var convs = new java.util.ArrayList<String>();
    for (int c = 0; c < 5; c++) {
      convs.add(api.post("/v1/conversations", fast, "{\"kind\":\"group\",\"members\":[\"slow-reader\"]}",
          Map.of()).json().get("conversationId").asText());
    }
    var sharding = org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.get(node.system());
    java.util.function.BooleanSupplier slowOnline = () -> sharding.entityRefFor(ChatSession.ENTITY_KEY, "slow-reader")
        .<ChatSession.Presence>ask(ChatSession.GetPresence::new, WAIT).toCompletableFuture().join().online();
    try (var slow = new RawWebSocket(node.httpPort(), "/v1/chat/ws", api.token("slow-reader"));
        var phone = connect(fast)) {
      sleepForAttach();
      assertTrue(slowOnline.getAsBoolean());
      // 3 KB messages in batches; the slow client reads none. Its socket buffers fill, then the node's bounded
      // buffer, and the node cuts it off, while the sender's acks keep coming.
      var body = "y".repeat(3_000);
      int sent = 0;
      while (slowOnline.getAsBoolean()) {
        assertTrue(sent < 20_000, "the slow client was never disconnected");
        for (int i = 0; i < 20; i++) {
          sent += convs.size();
          for (var conv : convs) phone.send(send(conv, "s-" + sent, body));
        }
        for (int i = 0; i < 100; i++) phone.await("ack", WAIT);
        phone.drain(Duration.ZERO); // its own messages, pushed back to it
      }
      phone.send(send(convs.get(0), "after", "the sender never noticed"));
      assertEquals(sent / convs.size() + 1, phone.await("ack", WAIT).get("seq").asLong());

      // What the slow client finds when it finally reads: some messages, then the reason, then the close.
      var frames = slow.readUntilClosed();
      var texts = frames.stream().filter(f -> f.opcode() == 1).map(RawWebSocket.Frame::text).toList();
      long messages = texts.stream().filter(t -> t.contains("\"type\":\"message\"")).count();
      assertTrue(messages > 0 && messages < sent, messages + " of " + sent + " messages reached the slow client");
      var reason = texts.get(texts.size() - 1);
      assertTrue(reason.contains("\"type\":\"error\"") && reason.contains("does not read"), reason);
      assertEquals(8, frames.get(frames.size() - 1).opcode(), "then a close frame");
    }
  }

  @Test
  void aDeviceThatMissedMoreThanTheOutgoingBufferSyncsPageByPageWithoutBeingDisconnected() {
    var alice = api.token("sync-alice");
    var bob = api.token("sync-bob");
    var conv = api.post("/v1/conversations", alice, "{\"kind\":\"group\",\"members\":[\"sync-bob\"]}", Map.of())
        .json().get("conversationId").asText();
    int missed = ChatSocket.OUTGOING_BUFFER + 44; // more than fits in one connection's buffer: 300
    try (var phone = connect(alice)) {
      for (int i = 1; i <= missed; i++) {
        phone.send(send(conv, "s-" + i, "missed " + i));
        phone.await("ack", WAIT);
      }
    }
    try (var bobPhone = connect(bob)) {
      var seqs = new java.util.ArrayList<Long>();
      long after = 0;
      int syncs = 0;
      while (after < missed) {
        bobPhone.send("{\"type\":\"sync\",\"convId\":\"" + conv + "\",\"afterSeq\":" + after + "}");
        syncs++;
        JsonNode frame;
        while (!(frame = bobPhone.await(f -> !f.path("type").asText().equals("presence"), WAIT)).path("type")
            .asText().equals("synced")) {
          assertEquals("message", frame.path("type").asText(), frame.toString());
          seqs.add(frame.get("seq").asLong());
        }
        assertEquals(missed, frame.get("seq").asLong(), "synced names the conversation's last seq");
        after = seqs.isEmpty() ? 0 : seqs.get(seqs.size() - 1);
      }
      assertEquals(java.util.stream.LongStream.rangeClosed(1, missed).boxed().toList(), seqs,
          "every missed message once, in order");
      assertEquals((missed + ChatSocket.SYNC_PAGE - 1) / ChatSocket.SYNC_PAGE, syncs, "one sync per page");
      // Still connected: a new message is pushed live.
      try (var phone = connect(alice)) {
        phone.send(send(conv, "s-live", "still there?"));
        assertEquals(missed + 1, bobPhone.await("message", WAIT).get("seq").asLong());
      }
    }
  }

  @Test
  void aConnectionWithoutAValidTokenIsRefused() {
    var client = new WsClient(clients, node.httpPort(), "/v1/chat/ws", null);
    assertEquals(401, client.upgradeStatus);
    client.close();
  }

  /** Attach travels to the user's session actor asynchronously; give it a moment before the first push. */
  private static void sleepForAttach() {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
