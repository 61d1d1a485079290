package io.plaza.platform;

import io.plaza.platform.OrderedDelivery.Sequenced;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.apache.pekko.Done;

/**
 * An {@link EntityDelivery} for tests: records the sequence numbers it delivers and, while {@link #hold} is set,
 * completes no delivery (a node that "crashes" with those events undelivered). {@link #load} reads from
 * {@link #storage}: the events the test collected in {@link #journal}, by default.
 */
public final class HeldDelivery<E> implements EntityDelivery<E> {

  public final List<E> journal = new CopyOnWriteArrayList<>();
  public final List<Long> delivered = new CopyOnWriteArrayList<>();
  public final List<long[]> loads = new CopyOnWriteArrayList<>();
  public volatile boolean hold;
  /** Whether events decided now are delivered by the entity (else tagged, for the projection). */
  public volatile boolean byEntity = true;
  public volatile Supplier<List<?>> storage = () -> journal;

  /** A delivery that never completes anything, loads included. */
  public static <E> HeldDelivery<E> forever() {
    var held = new HeldDelivery<E>();
    held.hold = true;
    return held;
  }

  /** Waits up to 10 s until these sequence numbers, each once and in this order, are all that was delivered. */
  public void awaitDelivered(Long... expected) {
    ItSupport.eventuallyHolds(java.time.Duration.ofSeconds(10), () -> org.junit.jupiter.api.Assertions.assertEquals(
        List.of(expected), delivered.stream().distinct().toList()));
  }

  @Override
  public boolean byEntity() {
    return byEntity;
  }

  @Override
  public CompletionStage<Done> deliver(List<Sequenced<E>> events) {
    if (hold) return new CompletableFuture<>();
    events.forEach(e -> delivered.add(e.sequenceNr()));
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  @Override
  @SuppressWarnings("unchecked")
  public CompletionStage<List<Sequenced<E>>> load(String entityId, long from, long to) {
    if (hold) return new CompletableFuture<>();
    loads.add(new long[] {from, to});
    var events = new ArrayList<Sequenced<E>>();
    for (long n = from; n <= to; n++) events.add(new Sequenced<>(n, (E) storage.get().get((int) n - 1)));
    return CompletableFuture.completedFuture(events);
  }
}
