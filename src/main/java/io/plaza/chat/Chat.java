package io.plaza.chat;

import io.plaza.platform.DirectDelivery;
import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.KafkaPublisher;
import io.plaza.platform.Metrics;
import io.plaza.platform.SameRelease;
import io.plaza.platform.TaggedProjections;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Wires the chat domain into a node: the sharded conversations, the history projection and the routes. */
public final class Chat {

  private Chat() {}

  public static List<String> kafkaTopics(com.typesafe.config.Config config) {
    return List.of(config.getString("plaza.chat.messages-topic"));
  }

  public static List<Endpoint> start(ActorSystem<?> system, CassandraSession session, KafkaPublisher kafka,
      Duration askTimeout) {
    var config = system.settings().config();
    var settings = Conversation.Settings.fromConfig(config.getConfig("plaza.chat"));
    var sharding = ClusterSharding.get(system);
    var keyspace = config.getString("plaza.cassandra.keyspace");
    var history = new CassandraChatHistoryRepository(session, keyspace);
    var inbox = new CassandraChatInboxRepository(session, keyspace, history);
    var sessionSettings = ChatSession.Settings.fromConfig(config.getConfig("plaza.chat"), askTimeout);
    var directory = new ChatSession.Directory() {
      @Override
      public CompletionStage<List<String>> contacts(String user) {
        return inbox.contacts(user);
      }

      @Override
      public CompletionStage<Optional<Instant>> lastSeen(String user) {
        return inbox.lastSeen(user);
      }

      @Override
      public CompletionStage<Done> saveLastSeen(String user, Instant at) {
        return inbox.saveLastSeen(user, at);
      }

      @Override
      public RecipientRef<ChatSession.Command> session(String user) {
        return sharding.entityRefFor(ChatSession.ENTITY_KEY, user);
      }
    };
    sharding.init(Metrics.get(system).entity(ChatSession.ENTITY_KEY, ChatSession.Command.class, ctx ->
        ChatSession.create(ctx.getEntityId(), sessionSettings, directory, Clock.systemUTC())));
    // Live delivery straight from the entity, after persist: each member's session gets the frame.
    Conversation.Fanout fanout = (members, event) -> {
      var frame = ChatFrame.of(event);
      if (frame == null) return;
      var json = Json.write(frame);
      for (var member : members) sharding.entityRefFor(ChatSession.ENTITY_KEY, member).tell(new ChatSession.Push(json));
    };
    var chat = config.getConfig("plaza.chat");
    var topic = chat.getString("messages-topic");
    // The entity delivers its events itself once every node runs this release (see EntityDelivery).
    var sameRelease = new SameRelease(system);
    boolean byEntity = chat.getBoolean("delivered-by-entity");
    // The read models first, then Kafka: a consumer that reads the history on a message finds it there.
    var delivery = new DirectDelivery<Conversation.Event>(system, Conversation.ENTITY_KEY.name(),
        () -> byEntity && sameRelease.getAsBoolean(), List.of(
            events -> history.apply(ChatHistoryProjectionHandler.writesFor(events)),
            events -> inbox.apply(ChatInboxProjectionHandler.writesFor(events))),
        messagesTopic(kafka, topic), event -> ChatEventMessage.of(event, 0).occurredAt(),
        Metrics.get(system).projectionLag("chat-conversations-by-entity"));
    sharding.init(Metrics.get(system).entity(Conversation.ENTITY_KEY, Conversation.Command.class, ctx ->
        Conversation.create(ctx.getEntityId(), settings, Clock.systemUTC(), fanout, delivery)));

    // One projection feeds both read models and then Kafka (see TaggedProjections), for the tagged events.
    TaggedProjections.<Conversation.Event>start(system, session, "chat-conversations",
        List.of("chat-history", "chat-inbox", "chat-messages-kafka"), Conversation.TAGS,
        chat.getInt("projection-group-size"), chat.getDuration("projection-group-within"), List.of(
            tag -> new ChatHistoryProjectionHandler(history),
            tag -> new ChatInboxProjectionHandler(inbox),
            tag -> messagesTopic(kafka, topic)), TaggedProjections.readJournal(byEntity));
    PushNotifications.start(system, session, config.getString("plaza.cassandra.keyspace"), topic,
        new PushSender.Logging(), askTimeout);
    var socket = new ChatSocket(system, history, askTimeout, sessionSettings.heartbeatInterval(),
        chat.getInt("max-sends-in-flight"));
    var endpoints = new java.util.ArrayList<>(new ChatRoutes(system, history, inbox, askTimeout).endpoints());
    endpoints.add(Endpoint.stream("/v1/chat/ws", call -> socket.route(call.userId())));
    return endpoints;
  }

  /** The conversation events' contract messages on {@code plaza.chat.messages}, keyed by conversation. */
  private static KafkaProjectionHandler<Conversation.Event> messagesTopic(KafkaPublisher kafka, String topic) {
    return new KafkaProjectionHandler<>(kafka, topic, Conversation.Event::conversationId, ChatEventMessage::of);
  }
}
