package io.plaza.chat;

import io.micrometer.core.instrument.Timer;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.OrderedDelivery.Sequenced;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The conversation's own delivery: the rows the chat projection's handlers would write (`chat_history`,
 * `chat_inbox`), then the Kafka contract messages, for events the entity did not tag. Same rows, same versions and
 * the same messages as the projection, so either may deliver an event, and both may, once.
 */
final class ConversationDelivery implements Conversation.Delivery {

  private final ActorSystem<?> system;
  private final BooleanSupplier byEntity;
  private final ChatHistoryRepository history;
  private final ChatInboxRepository inbox;
  private final KafkaProjectionHandler<Conversation.Event> kafka;
  private final CassandraReadJournal journal;
  private final Timer lag;

  ConversationDelivery(ActorSystem<?> system, BooleanSupplier byEntity, ChatHistoryRepository history,
      ChatInboxRepository inbox, KafkaProjectionHandler<Conversation.Event> kafka, Timer lag) {
    this.system = system;
    this.byEntity = byEntity;
    this.history = history;
    this.inbox = inbox;
    this.kafka = kafka;
    this.journal = PersistenceQuery.get(system).getReadJournalFor(CassandraReadJournal.class,
        CassandraReadJournal.Identifier());
    this.lag = lag;
  }

  @Override
  public boolean byEntity() {
    return byEntity.getAsBoolean();
  }

  /** The read models first, then Kafka: a consumer that reads the history on a message finds it there. */
  @Override
  public CompletionStage<Done> deliver(List<Sequenced<Conversation.Event>> events) {
    var first = events.get(0);
    var since = ChatEventMessage.of(first.event(), first.sequenceNr()).occurredAt();
    var rows = CompletableFuture.allOf(
        history.apply(ChatHistoryProjectionHandler.writesFor(events)).toCompletableFuture(),
        inbox.apply(ChatInboxProjectionHandler.writesFor(events)).toCompletableFuture());
    return rows.thenCompose(v -> kafka.publish(events)).thenApply(done -> {
      lag.record(Duration.between(since, Instant.now()));
      return done;
    });
  }

  @Override
  public CompletionStage<List<Sequenced<Conversation.Event>>> load(String conversationId, long from, long to) {
    var persistenceId = PersistenceId.of(Conversation.ENTITY_KEY.name(), conversationId).id();
    return journal.currentEventsByPersistenceId(persistenceId, from, to)
        .map(env -> new Sequenced<>(env.sequenceNr(), (Conversation.Event) env.event()))
        .runWith(Sink.seq(), system);
  }
}
