package io.plaza.platform;

import io.plaza.platform.OrderedDelivery.Sequenced;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Where an entity delivers its events itself once they are persisted (its read-model rows and Kafka messages), instead
 * of a projection over its tag: an event then costs no `tag_views` and `tag_write_progress` writes, and its read
 * models lag by a round trip, not by the events-by-tag delay. The projection still runs, for the tagged events (older
 * ones, and those written while an older release is in the cluster: its nodes could not deliver again what this one
 * did not finish). The entity side is {@link SelfDelivery}; the usual implementation {@link DirectDelivery}.
 */
public interface EntityDelivery<E> {

  /** The projection delivers everything: every event is tagged. */
  static <E> EntityDelivery<E> byProjection() {
    return new EntityDelivery<>() {
      @Override
      public boolean byEntity() {
        return false;
      }

      @Override
      public CompletionStage<Done> deliver(List<Sequenced<E>> events) {
        return CompletableFuture.completedFuture(Done.getInstance());
      }

      @Override
      public CompletionStage<List<Sequenced<E>>> load(String entityId, long from, long to) {
        return CompletableFuture.completedFuture(List.of());
      }
    };
  }

  /** Whether an event decided now is delivered by the entity (and so not tagged). */
  boolean byEntity();

  /** Writes the events' read-model rows and Kafka messages; idempotent (after a crash some come again). */
  CompletionStage<Done> deliver(List<Sequenced<E>> events);

  /** The entity's events {@code from}..{@code to} (journal sequence numbers), read back from the journal. */
  CompletionStage<List<Sequenced<E>>> load(String entityId, long from, long to);
}
