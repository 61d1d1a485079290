package io.plaza.platform;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An entity's own delivery of its persisted events to read models and Kafka, in journal order, instead of a
 * projection over a tag: no `tag_views` or `tag_write_progress` write, no polling, and the read models lag by one
 * Cassandra round trip instead of the events-by-tag delay.
 *
 * <p>At least once: every persisted event is handed over ({@link #submit}) and delivered in order, a group at a time,
 * retried with backoff until it succeeds (deliveries must be idempotent). {@link #deliveredThrough()} is the highest
 * journal sequence number up to which everything is delivered; the entity writes it into the events it decides, so
 * after a crash its recovery knows from where to deliver again ({@link #start}: those events are read back from the
 * journal, then delivered before any new one).
 *
 * <p>Owned by one entity incarnation: {@link #submit} and {@link #start} are called by the entity's actor; deliveries
 * complete on other threads, hence the lock.
 */
public final class OrderedDelivery<E> {

  private static final Logger log = LoggerFactory.getLogger(OrderedDelivery.class);

  /** An event and its journal sequence number. */
  public record Sequenced<E>(long sequenceNr, E event) {

    /** A projection's envelopes in the same shape, so one mapping serves the projection and the entity. */
    public static <E> List<Sequenced<E>> of(List<EventEnvelope<E>> envelopes) {
      return envelopes.stream().map(env -> new Sequenced<>(env.sequenceNr(), env.event())).toList();
    }
  }

  /** At most this many events per delivery. */
  static final int MAX_GROUP = 100;

  private final String entityId;
  private final Function<List<Sequenced<E>>, CompletionStage<Done>> deliver;
  private final BiFunction<Long, Long, CompletionStage<List<Sequenced<E>>>> load;
  private final BiConsumer<Duration, Runnable> schedule;
  private final Duration minBackoff;
  private final Duration maxBackoff;

  /** Waiting, in journal order: an event, or a range to read back from the journal ({@link Reload}). */
  private final ArrayDeque<Object> waiting = new ArrayDeque<>();
  private long deliveredThrough;
  private boolean busy;
  private boolean stopped;
  private Duration backoff;

  /** Events to read back from the journal; those {@code which} accepts are delivered, the others only move the mark. */
  private record Reload(long from, long to, Predicate<Object> which) {}

  private record Item<E>(Sequenced<E> sequenced, boolean deliver) {}

  /**
   * @param deliver writes a group of events to where they go; idempotent (a group may come again after a crash)
   * @param load reads events {@code from}..{@code to} (inclusive) back from the journal
   * @param schedule runs a task after a delay (a retry)
   */
  public OrderedDelivery(String entityId, Function<List<Sequenced<E>>, CompletionStage<Done>> deliver,
      BiFunction<Long, Long, CompletionStage<List<Sequenced<E>>>> load, BiConsumer<Duration, Runnable> schedule,
      Duration minBackoff, Duration maxBackoff) {
    this.entityId = entityId;
    this.deliver = deliver;
    this.load = load;
    this.schedule = schedule;
    this.minBackoff = minBackoff;
    this.maxBackoff = maxBackoff;
    this.backoff = minBackoff;
  }

  /**
   * After recovery: events up to {@code deliveredThrough} are delivered, those after it up to {@code lastSequenceNr}
   * (if any) are read back from the journal and delivered again before anything submitted later.
   */
  public void start(long deliveredThrough, long lastSequenceNr) {
    synchronized (this) {
      this.deliveredThrough = deliveredThrough;
      if (lastSequenceNr > deliveredThrough) {
        waiting.addFirst(new Reload(deliveredThrough + 1, lastSequenceNr, event -> true));
      }
    }
    pump();
  }

  /**
   * A persisted event, in journal order. {@code deliver} false: someone else delivers it (a projection, for a tagged
   * event); it only moves {@link #deliveredThrough()} on, in its turn.
   */
  public void submit(long sequenceNr, E event, boolean deliver) {
    synchronized (this) {
      waiting.addLast(new Item<>(new Sequenced<>(sequenceNr, event), deliver));
    }
    pump();
  }

  /**
   * Events {@code from}..{@code to}, already submitted, to be read back from the journal and delivered (those
   * {@code which} accepts) in their turn: after what was submitted before, before what is submitted after.
   */
  @SuppressWarnings("unchecked")
  public void redeliver(long from, long to, Predicate<E> which) {
    synchronized (this) {
      waiting.addLast(new Reload(from, to, event -> which.test((E) event)));
    }
    pump();
  }

  /** Everything up to this journal sequence number is delivered. */
  public synchronized long deliveredThrough() {
    return deliveredThrough;
  }

  /** The entity incarnation stopped: no more deliveries or retries (what is left is delivered after its recovery). */
  public synchronized void stop() {
    stopped = true;
  }

  @SuppressWarnings("unchecked")
  private void pump() {
    Reload reload = null;
    var group = new ArrayList<Sequenced<E>>();
    int taken = 0;
    long through = 0;
    synchronized (this) {
      if (busy || stopped) return;
      // Events someone else delivers only move the mark on.
      while (waiting.peekFirst() instanceof Item<?> item && !item.deliver()) {
        deliveredThrough = Math.max(deliveredThrough, item.sequenced().sequenceNr());
        waiting.removeFirst();
      }
      if (waiting.isEmpty()) return;
      if (waiting.peekFirst() instanceof Reload r) {
        reload = r;
      } else {
        // The group stays queued until it is delivered, so a failure retries the same events first.
        for (var next : waiting) {
          if (!(next instanceof Item<?> item) || taken == MAX_GROUP) break;
          taken++;
          through = item.sequenced().sequenceNr();
          if (item.deliver()) group.add((Sequenced<E>) item.sequenced());
        }
      }
      busy = true;
    }
    final int size = taken;
    final long upTo = through;
    CompletionStage<Done> work;
    try {
      work = reload != null ? reload(reload) : deliver.apply(List.copyOf(group));
    } catch (RuntimeException e) {
      work = java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    work.whenComplete((done, error) -> {
      Duration retryIn = null;
      synchronized (this) {
        // After a failure it stays busy until the retry: what is submitted meanwhile waits behind the failed group.
        busy = error != null;
        if (error == null) {
          backoff = minBackoff;
          for (int i = 0; i < size; i++) waiting.removeFirst();
          deliveredThrough = Math.max(deliveredThrough, upTo);
        } else {
          retryIn = backoff;
          backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
        }
      }
      if (retryIn == null) {
        pump();
      } else {
        log.warn("delivering the events of {} failed, again in {}: {}", entityId, retryIn, error.toString());
        schedule.accept(retryIn, this::retry);
      }
    });
  }

  private void retry() {
    synchronized (this) {
      busy = false;
    }
    pump();
  }

  /** Reads the range back and puts its events first, in place of the range, as ones to deliver. */
  private CompletionStage<Done> reload(Reload range) {
    return load.apply(range.from(), range.to()).thenApply(events -> {
      synchronized (this) {
        waiting.removeFirst();
        for (int i = events.size() - 1; i >= 0; i--) {
          waiting.addFirst(new Item<>(events.get(i), range.which().test(events.get(i).event())));
        }
        // Whatever the range held beyond what was read (nothing, normally) needs no delivery.
        if (events.isEmpty()) deliveredThrough = Math.max(deliveredThrough, range.to());
      }
      return Done.getInstance();
    });
  }
}
