package io.plaza.platform;

import java.time.Duration;
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
  private OrderedDelivery<E> ordered;

  /** @param markOf the mark an event carries (its {@code deliveredThrough}) */
  public SelfDelivery(String entityId, EntityDelivery<E> target, ActorSystem<?> system, Function<E, Long> markOf) {
    this.entityId = entityId;
    this.target = target;
    this.system = system;
    this.markOf = markOf;
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
    for (var event : events) ordered.submit(++sequenceNr, event, !tagged(event));
  }

  /** The incarnation stopped: what is left is delivered after the next recovery. */
  public void stop() {
    if (ordered != null) ordered.stop();
  }
}
