package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.plaza.platform.OrderedDelivery.Sequenced;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;

/** The entity's own delivery: in journal order, a group at a time, retried, and resumed after a crash. */
class OrderedDeliveryTest {

  /** Deliveries the test completes by hand, and retries it runs by hand. */
  private final List<List<Sequenced<String>>> calls = new ArrayList<>();
  private final List<CompletableFuture<Done>> pending = new ArrayList<>();
  private final List<Duration> retryDelays = new ArrayList<>();
  private final List<Runnable> retries = new ArrayList<>();
  private final List<long[]> loads = new ArrayList<>();
  private final List<CompletableFuture<List<Sequenced<String>>>> loading = new ArrayList<>();

  private final OrderedDelivery<String> delivery = new OrderedDelivery<>("e-1",
      events -> {
        calls.add(events);
        var done = new CompletableFuture<Done>();
        pending.add(done);
        return done;
      },
      (from, to) -> {
        loads.add(new long[] {from, to});
        var loaded = new CompletableFuture<List<Sequenced<String>>>();
        loading.add(loaded);
        return loaded;
      },
      (delay, task) -> {
        retryDelays.add(delay);
        retries.add(task);
      },
      Duration.ofMillis(100), Duration.ofMillis(350));

  private static List<Long> seqs(List<Sequenced<String>> events) {
    return events.stream().map(Sequenced::sequenceNr).toList();
  }

  private void completeNext() {
    pending.get(calls.size() - 1).complete(Done.getInstance());
  }

  @Test
  void eventsGoInJournalOrderAndThoseThatQueueBehindAWriteGoTogether() {
    delivery.start(0, 0);
    delivery.submit(1, "a", true);
    delivery.submit(2, "b", true);
    delivery.submit(3, "c", true);
    assertEquals(1, calls.size(), "one delivery in flight at a time");
    assertEquals(List.of(1L), seqs(calls.get(0)));
    assertEquals(0, delivery.deliveredThrough());
    completeNext();
    assertEquals(1, delivery.deliveredThrough());
    assertEquals(List.of(2L, 3L), seqs(calls.get(1)), "what queued behind goes as one group");
    completeNext();
    assertEquals(3, delivery.deliveredThrough());
    delivery.submit(4, "d", true);
    assertEquals(List.of(4L), seqs(calls.get(2)), "with nothing in flight a new event goes at once");
  }

  @Test
  void eventsSomeoneElseDeliversOnlyMoveTheMarkInTheirTurn() {
    delivery.start(0, 0);
    delivery.submit(1, "a", true);
    delivery.submit(2, "tagged", false);
    delivery.submit(3, "c", true);
    assertEquals(0, delivery.deliveredThrough(), "2 waits for 1");
    completeNext();
    assertEquals(List.of(3L), seqs(calls.get(1)));
    assertEquals(2, delivery.deliveredThrough(), "2 is passed once 1 is delivered");
    completeNext();
    assertEquals(3, delivery.deliveredThrough());
    delivery.submit(4, "tagged", false);
    assertEquals(4, delivery.deliveredThrough());
    assertEquals(2, calls.size());
  }

  @Test
  void aFailedDeliveryIsRetriedWithTheSameEventsFirstAndAGrowingBackoff() {
    delivery.start(0, 0);
    delivery.submit(1, "a", true);
    delivery.submit(2, "b", true);
    pending.get(0).completeExceptionally(new IllegalStateException("cassandra timed out"));
    delivery.submit(3, "c", true);
    assertEquals(1, calls.size(), "nothing goes while the retry waits");
    assertEquals(List.of(Duration.ofMillis(100)), retryDelays);
    retries.get(0).run();
    assertEquals(List.of(1L, 2L, 3L), seqs(calls.get(1)), "the failed event first, then what queued");
    pending.get(1).completeExceptionally(new IllegalStateException("again"));
    retries.get(1).run();
    pending.get(2).completeExceptionally(new IllegalStateException("and again"));
    assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(350)), retryDelays);
    retries.get(2).run();
    completeNext();
    assertEquals(3, delivery.deliveredThrough());
    delivery.submit(4, "d", true);
    pending.get(4).completeExceptionally(new IllegalStateException("once more"));
    assertEquals(Duration.ofMillis(100), retryDelays.get(3), "a success resets the backoff");
  }

  @Test
  void afterACrashTheUndeliveredRangeIsReadBackAndGoesBeforeAnythingNew() {
    delivery.start(2, 5);
    delivery.submit(6, "f", true);
    assertEquals(1, loads.size());
    assertEquals(3, loads.get(0)[0]);
    assertEquals(5, loads.get(0)[1]);
    assertEquals(0, calls.size(), "nothing new before the range is back");
    loading.get(0).complete(List.of(new Sequenced<>(3, "c"), new Sequenced<>(4, "d"), new Sequenced<>(5, "e")));
    assertEquals(List.of(3L, 4L, 5L, 6L), seqs(calls.get(0)));
    assertEquals(2, delivery.deliveredThrough());
    completeNext();
    assertEquals(6, delivery.deliveredThrough());
  }

  @Test
  void aFailedReadBackIsRetried() {
    delivery.start(0, 2);
    loading.get(0).completeExceptionally(new IllegalStateException("read timed out"));
    retries.get(0).run();
    assertEquals(2, loads.size());
    loading.get(1).complete(List.of(new Sequenced<>(1, "a"), new Sequenced<>(2, "b")));
    assertEquals(List.of(1L, 2L), seqs(calls.get(0)));
  }

  @Test
  void aStoppedDeliveryNeitherDeliversNorRetries() {
    delivery.start(0, 0);
    delivery.submit(1, "a", true);
    pending.get(0).completeExceptionally(new IllegalStateException("down"));
    delivery.stop();
    retries.get(0).run();
    delivery.submit(2, "b", true);
    assertEquals(1, calls.size());
    assertEquals(0, delivery.deliveredThrough());
  }

  @Test
  void aGroupHoldsAtMostMaxGroupEvents() {
    delivery.start(0, 0);
    delivery.submit(1, "first", true);
    for (int i = 2; i <= OrderedDelivery.MAX_GROUP + 5; i++) delivery.submit(i, "e" + i, true);
    completeNext();
    assertEquals(OrderedDelivery.MAX_GROUP, calls.get(1).size());
    completeNext();
    assertEquals(List.of(102L, 103L, 104L, 105L), seqs(calls.get(2)));
  }

  /** A delivery that throws instead of failing its stage is a failure like any other. */
  @Test
  void aDeliveryThatThrowsIsRetried() {
    var attempts = new ArrayList<Runnable>();
    var throwing = new OrderedDelivery<String>("e-2", events -> {
      throw new IllegalStateException("boom");
    }, (from, to) -> CompletableFuture.completedFuture(List.of()), (delay, task) -> attempts.add(task),
        Duration.ofMillis(1), Duration.ofMillis(1));
    throwing.start(0, 0);
    throwing.submit(1, "a", true);
    assertEquals(1, attempts.size());
    assertEquals(0, throwing.deliveredThrough());
  }

  @Test
  void eventsToDeliverAgainAreReadBackInTheirTurnAndOnlyThoseChosenGo() {
    delivery.start(0, 0);
    delivery.submit(1, "a", true);
    completeNext();
    delivery.submit(2, "b", false);
    delivery.submit(3, "c", false);
    delivery.redeliver(2, 3, event -> event.equals("c"));
    delivery.submit(4, "d", true);
    assertEquals(1, loads.size(), "read back after what was submitted before it");
    assertEquals(List.of(2L, 3L), List.of(loads.get(0)[0], loads.get(0)[1]));
    assertEquals(1, calls.size(), "nothing newer goes before the range");
    loading.get(0).complete(List.of(new Sequenced<>(2, "b"), new Sequenced<>(3, "c")));
    assertEquals(List.of(3L, 4L), seqs(calls.get(1)), "the chosen event of the range, then the newer one");
    completeNext();
    assertEquals(4, delivery.deliveredThrough());
  }
}
