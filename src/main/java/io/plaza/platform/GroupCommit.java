package io.plaza.platform;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * Group commit for an event-sourced entity: while one batch of commands is being written, the commands that arrive
 * queue here; when the write is done they go to the entity together, which decides them one after the other and
 * persists all their events in one journal write ({@code persistAll}: one Cassandra batch into one partition). A busy
 * entity thus absorbs many commands per round trip instead of one, and an idle one answers as fast as before (a lone
 * command is a batch of one).
 *
 * <p>The entity's side of the protocol: it handles the batch command {@code batchOf} builds, sends itself a
 * {@link Written} message after the batch's events are persisted and its replies sent (also when it persisted
 * nothing), and once when its recovery completes — commands queue here until then, and a restart after a failed write
 * recovers again, so the queue never waits for an answer that cannot come.
 */
public final class GroupCommit<C> extends BehaviorInterceptor<C, C> {

  /** The entity's message to itself: the previous batch is written (or recovery completed); the next may go. */
  public interface Written {}

  public static <C> Behavior<C> around(Class<C> commandClass, Function<List<C>, C> batchOf, int maxBatch,
      Behavior<C> entity) {
    if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1");
    return Behaviors.intercept(() -> new GroupCommit<>(commandClass, batchOf, maxBatch), entity);
  }

  /**
   * What one request of a batch does: at most one event, and what to do once the batch is written (answer, publish),
   * prepared from the state this request left.
   */
  public record Decision<E, S>(E event, Function<S, Runnable> afterWrite) {

    /** {@code event} persisted, then {@code reply} (made from the state after it) sent to {@code replyTo}. */
    public static <E, S, R> Decision<E, S> persist(E event, ActorRef<R> replyTo, Function<S, R> reply) {
      return new Decision<>(event, state -> {
        var answer = reply.apply(state);
        return () -> replyTo.tell(answer);
      });
    }

    /** No event: {@code reply} is sent once the batch it came in is written (it may depend on earlier requests). */
    public static <E, S, R> Decision<E, S> answer(ActorRef<R> replyTo, R reply) {
      return new Decision<>(null, state -> () -> replyTo.tell(reply));
    }
  }

  /** A batch decided: the events to persist in one write, and what to run once they are written. */
  public record Decided<E>(List<E> events, Runnable afterWrite) {}

  /**
   * Decides {@code requests} in order, each against the state the earlier ones left ({@code apply}: the entity's
   * event handler).
   */
  public static <R, E, S> Decided<E> decide(S state, List<? extends R> requests,
      BiFunction<S, R, Decision<E, S>> decide, BiFunction<S, E, S> apply) {
    return decide(state, requests, decide, apply, List::of, request -> false);
  }

  /**
   * The same, and then the {@code riders} (requests that wait for the entity's next write rather than cost one of
   * their own) when the batch persists something or one of its requests {@code flushes} them.
   */
  public static <R, E, S> Decided<E> decide(S state, List<? extends R> requests,
      BiFunction<S, R, Decision<E, S>> decide, BiFunction<S, E, S> apply, Supplier<List<? extends R>> riders,
      Predicate<? super R> flushes) {
    var events = new ArrayList<E>(requests.size());
    var afterWrite = new ArrayList<Runnable>(requests.size());
    var current = decideAll(state, requests, decide, apply, events, afterWrite);
    if (!events.isEmpty() || requests.stream().anyMatch(flushes)) {
      decideAll(current, riders.get(), decide, apply, events, afterWrite);
    }
    return new Decided<>(events, () -> afterWrite.forEach(Runnable::run));
  }

  private static <R, E, S> S decideAll(S state, List<? extends R> requests, BiFunction<S, R, Decision<E, S>> decide,
      BiFunction<S, E, S> apply, List<E> events, List<Runnable> afterWrite) {
    var current = state;
    for (R request : requests) {
      var decision = decide.apply(current, request);
      if (decision.event() != null) {
        current = apply.apply(current, decision.event());
        events.add(decision.event());
      }
      afterWrite.add(decision.afterWrite().apply(current));
    }
    return current;
  }

  /**
   * The entity's effect for a batch: its requests decided, their events persisted in one write, then their answers,
   * then {@code written} (the entity's {@link Written} to itself).
   */
  public static <R, E, S> ReplyEffect<E, S> persist(EffectFactories<E, S> effects, S state, List<? extends R> requests,
      BiFunction<S, R, Decision<E, S>> decide, BiFunction<S, E, S> apply, Runnable written) {
    return persist(effects, state, requests, decide, apply, List::of, request -> false, events -> { }, written);
  }

  /**
   * The same with riders ({@link #decide(Object, List, BiFunction, BiFunction, Supplier, Predicate)}), and
   * {@code persisted} told the events once they are written, before the answers.
   */
  public static <R, E, S> ReplyEffect<E, S> persist(EffectFactories<E, S> effects, S state, List<? extends R> requests,
      BiFunction<S, R, Decision<E, S>> decide, BiFunction<S, E, S> apply, Supplier<List<? extends R>> riders,
      Predicate<? super R> flushes, Consumer<List<E>> persisted, Runnable written) {
    var decided = decide(state, requests, decide, apply, riders, flushes);
    var effect = decided.events().isEmpty() ? effects.none() : effects.persist(decided.events());
    return effect.thenRun(after -> {
      if (!decided.events().isEmpty()) persisted.accept(decided.events());
      decided.afterWrite().run();
      written.run();
    }).thenNoReply();
  }

  private final Function<List<C>, C> batchOf;
  private final int maxBatch;
  private final ArrayList<C> queued = new ArrayList<>();
  /** True from the start: the entity is recovering, and says {@link Written} when it is done. */
  private boolean writing = true;

  private GroupCommit(Class<C> commandClass, Function<List<C>, C> batchOf, int maxBatch) {
    super(commandClass);
    this.batchOf = batchOf;
    this.maxBatch = maxBatch;
  }

  @Override
  public Behavior<C> aroundReceive(TypedActorContext<C> ctx, C msg, ReceiveTarget<C> target) {
    if (msg instanceof Written) {
      writing = false;
    } else {
      queued.add(msg);
    }
    if (writing || queued.isEmpty()) return Behaviors.same();
    var size = Math.min(maxBatch, queued.size());
    var batch = List.copyOf(queued.subList(0, size));
    queued.subList(0, size).clear();
    writing = true;
    return target.apply(ctx, batchOf.apply(batch));
  }
}
