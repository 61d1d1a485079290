package io.plaza.platform;

import io.micrometer.core.instrument.Timer;
import io.plaza.platform.OrderedDelivery.Sequenced;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * An entity's own delivery: the rows its projection's handlers would write, then the Kafka contract messages. Same
 * rows, same versions and the same messages as the projection, so either may deliver an event, and both may.
 */
public final class DirectDelivery<E> implements EntityDelivery<E> {

  private final ActorSystem<?> system;
  private final String entityType;
  private final BooleanSupplier byEntity;
  private final List<Function<List<Sequenced<E>>, CompletionStage<Done>>> readModels;
  private final KafkaProjectionHandler<E> kafka;
  private final Function<E, Instant> occurredAt;
  private final Timer lag;
  private final CassandraReadJournal journal;

  /**
   * @param entityType the entity type key's name (the persistence id's prefix)
   * @param byEntity whether events decided now are delivered by the entity (else tagged)
   * @param readModels each writes its read model's rows for a group of events; all run at once, before Kafka
   * @param lag records the time from the first event of a group to its delivery
   */
  public DirectDelivery(ActorSystem<?> system, String entityType, BooleanSupplier byEntity,
      List<Function<List<Sequenced<E>>, CompletionStage<Done>>> readModels, KafkaProjectionHandler<E> kafka,
      Function<E, Instant> occurredAt, Timer lag) {
    this.system = system;
    this.entityType = entityType;
    this.byEntity = byEntity;
    this.readModels = List.copyOf(readModels);
    this.kafka = kafka;
    this.occurredAt = occurredAt;
    this.lag = lag;
    this.journal = PersistenceQuery.get(system).getReadJournalFor(CassandraReadJournal.class,
        CassandraReadJournal.Identifier());
  }

  @Override
  public boolean byEntity() {
    return byEntity.getAsBoolean();
  }

  /** The read models first, then Kafka: a consumer that reads a read model on a message finds the row there. */
  @Override
  public CompletionStage<Done> deliver(List<Sequenced<E>> events) {
    var since = occurredAt.apply(events.get(0).event());
    var rows = CompletableFuture.allOf(readModels.stream()
        .map(readModel -> readModel.apply(events).toCompletableFuture()).toArray(CompletableFuture[]::new));
    return rows.thenCompose(v -> kafka.publish(events)).thenApply(done -> {
      lag.record(Duration.between(since, Instant.now()));
      return done;
    });
  }

  @Override
  @SuppressWarnings("unchecked")
  public CompletionStage<List<Sequenced<E>>> load(String entityId, long from, long to) {
    var persistenceId = PersistenceId.of(entityType, entityId).id();
    return journal.currentEventsByPersistenceId(persistenceId, from, to)
        .map(env -> new Sequenced<>(env.sequenceNr(), (E) env.event()))
        .runWith(Sink.seq(), system);
  }
}
