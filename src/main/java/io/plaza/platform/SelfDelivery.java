package io.plaza.platform;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The entity side of {@link EntityDelivery}, across the incarnations of one entity. Each event the entity decides
 * records how far the delivery had got ({@link #mark()}; null: tagged, a projection delivers it), so that each
 * recovery knows what to deliver again: the events after the mark are read back from the journal and delivered before
 * anything new.
 *
 * <p>Called from the entity's actor only. A failed journal write restarts an event-sourced behavior in place (the
 * same object), so every recovery makes a new {@link OrderedDelivery} and stops the one before.
 */
public final class SelfDelivery<E> {

  private final String entityId;
  private final EntityDelivery<E> target;
  private final ActorSystem<?> system;
  private final Function<E, Long> markOf;
  private final Function<E, Instant> occurredAt;
  private final Clock clock;
  private OrderedDelivery<E> ordered;
  /** The newest tagged event the entity has not delivered itself since (0: none). */
  private long taggedThrough;

  /**
   * When an entity takes over from the projection (its first untagged event after tagged ones), up to this many of the
   * tagged events before it, if at most {@link #TAKEOVER_AGE} old, are delivered again first: the projection lags (a
   * second or more, longer while nodes restart in a rolling upgrade), and the new event must not overtake them (a
   * follow, then a post: the fan-out must find the follower).
   */
  static final int TAKEOVER_EVENTS = 20;

  static final Duration TAKEOVER_AGE = Duration.ofMinutes(1);

  /**
   * @param markOf the mark an event carries (its {@code deliveredThrough})
   * @param occurredAt when an event was decided (by {@code clock})
   */
  public SelfDelivery(String entityId, EntityDelivery<E> target, ActorSystem<?> system, Function<E, Long> markOf,
      Function<E, Instant> occurredAt, Clock clock) {
    this.entityId = entityId;
    this.target = target;
    this.system = system;
    this.markOf = markOf;
    this.occurredAt = occurredAt;
    this.clock = clock;
  }

  /**
   * After each recovery. {@code deliveredThrough}: the newest mark the recovered events carried (null: the entity
   * never delivered an event itself, so everything up to {@code lastSequenceNr} is the projection's).
   */
  public void recovered(Long deliveredThrough, long lastSequenceNr) {
    stop();
    ordered = new OrderedDelivery<>(entityId, target::deliver, (from, to) -> target.load(entityId, from, to),
        (delay, task) -> system.scheduler().scheduleOnce(delay, task, system.executionContext()),
        Duration.ofMillis(200), Duration.ofSeconds(10));
    ordered.start(deliveredThrough == null ? lastSequenceNr : deliveredThrough, lastSequenceNr);
    // Without a mark every event so far was tagged; with one, those after it are delivered again anyway.
    taggedThrough = deliveredThrough == null ? lastSequenceNr : 0;
  }

  /** The mark for an event decided now: null if a projection delivers it (tag it), else how far delivery has got. */
  public Long mark() {
    return target.byEntity() ? ordered.deliveredThrough() : null;
  }

  /** Whether the projection delivers this event: it has no mark. */
  public boolean tagged(E event) {
    return markOf.apply(event) == null;
  }

  /** Events just persisted, in journal order; {@code lastSequenceNr}: the journal sequence number of the last. */
  public void persisted(List<E> events, long lastSequenceNr) {
    long sequenceNr = lastSequenceNr - events.size();
    for (var event : events) {
      sequenceNr++;
      if (tagged(event)) {
        taggedThrough = sequenceNr;
      } else if (taggedThrough > 0) {
        var since = clock.instant().minus(TAKEOVER_AGE);
        ordered.redeliver(Math.max(1, taggedThrough - TAKEOVER_EVENTS + 1), taggedThrough,
            recent -> !occurredAt.apply(recent).isBefore(since));
        taggedThrough = 0;
      }
      ordered.submit(sequenceNr, event, !tagged(event));
    }
  }

  /** The incarnation stopped: what is left is delivered after the next recovery. */
  public void stop() {
    if (ordered != null) ordered.stop();
  }
}
