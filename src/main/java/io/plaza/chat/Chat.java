package io.plaza.chat;

import io.plaza.platform.Endpoint;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.KafkaPublisher;
import io.plaza.platform.TaggedProjections;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
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
    ClusterSharding.get(system).init(Entity.of(Conversation.ENTITY_KEY, ctx ->
        Conversation.create(ctx.getEntityId(), settings, Clock.systemUTC())));

    var chat = config.getConfig("plaza.chat");
    var history = new CassandraChatHistoryRepository(session, config.getString("plaza.cassandra.keyspace"));
    TaggedProjections.<Conversation.Event>start(system, "chat-history", Conversation.TAGS,
        chat.getInt("projection-group-size"), chat.getDuration("projection-group-within"),
        () -> new ChatHistoryProjectionHandler(history));
    var topic = chat.getString("messages-topic");
    TaggedProjections.<Conversation.Event>start(system, "chat-messages-kafka", Conversation.TAGS,
        chat.getInt("projection-group-size"), chat.getDuration("projection-group-within"),
        () -> new KafkaProjectionHandler<>(kafka, topic, Conversation.Event::conversationId, ChatEventMessage::of));
    return new ChatRoutes(system, history, askTimeout).endpoints();
  }
}
