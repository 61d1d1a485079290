package io.plaza.chat;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import io.plaza.platform.Json;
import io.plaza.platform.Kafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * Consumes `plaza.chat.messages` (consumer group, committed offsets, on every node: Kafka spreads the partitions) and,
 * for each new message, records and sends a push notification to every member other than the sender who has no
 * device connected at that moment. Messages come again after a crash or whenever a projection restarts (it rewinds
 * a few seconds, plaza.projections.restart-rewind): the record, keyed by (user, conversation, seq), is written only if
 * absent, and only the write that created it sends the push — so one push per member and message, or none if the
 * node dies between the record and the send.
 */
public final class PushNotifications {

  private PushNotifications() {}

  public static void start(ActorSystem<?> system, CassandraSession session, String keyspace, String topic,
      PushSender sender, Duration askTimeout) {
    var sharding = ClusterSharding.get(system);
    var insert = prepareRecord(session, keyspace);
    Kafka.consume(system, topic, system.settings().config().getString("plaza.chat.push-consumer-group"), 4,
        json -> decide(json, sharding, session, insert, sender, askTimeout));
  }

  static CompletionStage<Done> decide(String json, ClusterSharding sharding, CassandraSession session,
      CompletionStage<PreparedStatement> insert, PushSender sender, Duration askTimeout) {
    ChatEventMessage event;
    try {
      event = Json.MAPPER.readValue(json, ChatEventMessage.class);
    } catch (Exception e) {
      return CompletableFuture.completedFuture(Done.getInstance()); // not ours to judge: skip, never block the topic
    }
    if (!"MessagePosted".equals(event.type())) return CompletableFuture.completedFuture(Done.getInstance());
    return sharding.entityRefFor(Conversation.ENTITY_KEY, event.conversationId())
        .<Conversation.Reply>ask(r -> new Conversation.GetInfo(event.sender(), r), askTimeout)
        .thenCompose(reply -> {
          if (!(reply instanceof Conversation.Info info)) return CompletableFuture.completedFuture(Done.getInstance());
          var pushes = new ArrayList<CompletableFuture<Done>>();
          for (var member : info.members()) {
            if (member.equals(event.sender())) continue;
            pushes.add(sharding.entityRefFor(ChatSession.ENTITY_KEY, member)
                .<ChatSession.Presence>ask(ChatSession.GetPresence::new, askTimeout)
                .thenCompose(presence -> presence.online() ? CompletableFuture.completedFuture(Done.getInstance())
                    : record(member, event, session, insert, sender))
                .toCompletableFuture());
          }
          return CompletableFuture.allOf(pushes.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
        });
  }

  static CompletionStage<PreparedStatement> prepareRecord(CassandraSession session, String keyspace) {
    return session.prepare("INSERT INTO " + keyspace + ".chat_push_notifications (user_id, conversation_id, seq, "
        + "sender, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS");
  }

  /** Records the push and sends it, unless an earlier delivery of the same message recorded it already. */
  static CompletionStage<Done> record(String member, ChatEventMessage event, CassandraSession session,
      CompletionStage<PreparedStatement> insert, PushSender sender) {
    var preview = event.body() == null ? "" : event.body().substring(0, Math.min(80, event.body().length()));
    var notification = new PushSender.Notification(member, event.conversationId(), event.seq(), event.sender(),
        preview, event.occurredAt());
    return insert.thenCompose(ps -> session.selectOne(ps.bind(member, event.conversationId(), event.seq(),
            event.sender(), event.occurredAt())))
        .thenCompose(result -> result.map(row -> row.getBoolean("[applied]")).orElse(false)
            ? sender.send(notification) : CompletableFuture.completedFuture(Done.getInstance()));
  }

  /** For tests and operators: which messages a user was notified about. */
  public static CompletionStage<List<Long>> notifiedSeqs(CassandraSession session, String keyspace, String userId,
      String conversationId) {
    return session.selectAll("SELECT seq FROM " + keyspace + ".chat_push_notifications WHERE user_id = ? AND "
        + "conversation_id = ?", userId, conversationId).thenApply(rows -> rows.stream().map(r -> r.getLong("seq"))
        .toList());
  }
}
