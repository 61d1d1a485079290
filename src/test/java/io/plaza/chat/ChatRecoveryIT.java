package io.plaza.chat;

import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.plaza.platform.ApiClient;
import io.plaza.platform.HeldDelivery;
import io.plaza.platform.ItSupport;
import io.plaza.platform.TestNodes;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;

/**
 * A new ActorSystem on the same keyspace keeps the history, the seqs and the dedup of client message ids, and
 * delivers what the previous one persisted but did not deliver.
 */
class ChatRecoveryIT {

  @Test
  void historySeqsAndDedupSurviveARestart() {
    String id;
    try (var first = TestNodes.start()) {
      var api = new ApiClient(first.httpPort());
      var dana = api.token("dana");
      id = api.post("/v1/conversations", dana, "{\"kind\":\"group\",\"members\":[\"eve\"]}", Map.of())
          .json().get("conversationId").asText();
      for (int i = 1; i <= 3; i++) {
        assertEquals(201, post(api, dana, id, "d-" + i).status());
      }
    }
    try (var second = TestNodes.start()) {
      var api = new ApiClient(second.httpPort());
      var dana = api.token("dana");
      var retry = post(api, dana, id, "d-2");
      assertEquals(200, retry.status(), retry.toString());
      assertEquals(2, retry.json().get("seq").asLong());
      var fourth = post(api, dana, id, "d-4");
      assertEquals(201, fourth.status(), fourth.toString());
      assertEquals(4, fourth.json().get("seq").asLong());
      eventually(Duration.ofSeconds(20), () -> {
        var page = api.get("/v1/conversations/" + id + "/messages", api.token("eve"));
        assertEquals(200, page.status(), page.toString());
        assertEquals(List.of("4", "3", "2", "1"), page.json().get("messages").findValuesAsText("seq"),
            page.toString());
        return page;
      });
    }
  }

  /**
   * A conversation whose own delivery never completed (a crash between persist and delivery, held here by a delivery
   * that never answers) is delivered by its next incarnation: every event, in order, before anything newer; and none
   * of its events was tagged.
   */
  @Test
  void eventsPersistedButNotDeliveredAreDeliveredByTheNextIncarnation() throws Exception {
    var id = UUID.randomUUID().toString();
    try (var first = TestNodes.start()) {
      var system = first.system();
      var hanging = HeldDelivery.<Conversation.Event>forever();
      var settings = Conversation.Settings.fromConfig(system.settings().config().getConfig("plaza.chat"));
      ActorRef<Conversation.Command> entity = system.systemActorOf(
          Conversation.create(id, settings, Clock.systemUTC(), Conversation.Fanout.NONE, hanging), "undelivered",
          Props.empty());
      var timeout = Duration.ofSeconds(15);
      var created = AskPattern.<Conversation.Command, Conversation.Reply>ask(entity,
          r -> new Conversation.Create("dana", Conversation.Kind.GROUP, "held", Set.of("eve"), r), timeout,
          system.scheduler()).toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertInstanceOf(Conversation.Info.class, created);
      for (int i = 1; i <= 3; i++) {
        int n = i;
        var posted = AskPattern.<Conversation.Command, Conversation.Reply>ask(entity,
            r -> new Conversation.Post("dana", "h-" + n, "held " + n, r), timeout, system.scheduler())
            .toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertEquals(n, assertInstanceOf(Conversation.Posted.class, posted).seq());
      }
      // Persisted, answered, not delivered: nothing in the history, and the events carry no tag.
      var session = io.plaza.platform.Cassandra.session(system);
      var history = new CassandraChatHistoryRepository(session, TestNodes.KEYSPACE);
      assertEquals(List.of(), history.page(id, 4, 10).toCompletableFuture().get(20, TimeUnit.SECONDS));
      assertEquals(List.of(), ItSupport.taggedAs(session, "Conversation|" + id));
    }
    try (var second = TestNodes.start()) {
      var api = new ApiClient(second.httpPort());
      var dana = api.token("dana");
      // The first command wakes the entity, which delivers the three held messages before this one.
      var fourth = post(api, dana, id, "d-4");
      assertEquals(201, fourth.status(), fourth.toString());
      assertEquals(4, fourth.json().get("seq").asLong());
      var published = readTopic(TestNodes.CHAT_TOPIC, id, 5, Duration.ofSeconds(30));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L), published.stream().map(m -> m.get("sequenceNr").asLong()).toList(),
          published.toString());
      assertEquals(List.of("ConversationCreated", "MessagePosted", "MessagePosted", "MessagePosted", "MessagePosted"),
          published.stream().map(m -> m.get("type").asText()).toList());
      eventually(Duration.ofSeconds(20), () -> {
        var page = api.get("/v1/conversations/" + id + "/messages", api.token("eve"));
        assertEquals(200, page.status(), page.toString());
        assertEquals(List.of("4", "3", "2", "1"), page.json().get("messages").findValuesAsText("seq"),
            page.toString());
        assertEquals("held 1", page.json().get("messages").get(3).get("body").asText());
        return page;
      });
    }
  }

  private static ApiClient.Response post(ApiClient api, String token, String id, String clientMsgId) {
    return api.post("/v1/conversations/" + id + "/messages", token,
        "{\"clientMsgId\":\"" + clientMsgId + "\",\"body\":\"note " + clientMsgId + "\"}", Map.of());
  }
}
