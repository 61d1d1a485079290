package io.plaza.platform;

import io.plaza.platform.GroupCommit.Decision;
import java.util.List;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The entity side of {@link GroupCommit}: an event-sourced entity whose requests ({@code R}) arrive in batches and
 * are decided one by one ({@link #decide}) against the state the earlier ones left; the batch's events are persisted
 * in one write, then every request is answered, then the entity tells itself the batch is {@link GroupCommit.Written}
 * (also once its recovery completed). Wrap it with {@link GroupCommit#around}.
 */
public abstract class GroupCommittedBehavior<C, R extends C, E, S>
    extends EventSourcedBehaviorWithEnforcedReplies<C, E, S> {

  /** The entity's batch command: local only, handed over by {@link GroupCommit}, never sent or serialized. */
  public interface Batch<R> {
    List<R> requests();
  }

  private final Class<R> requestClass;
  private final ActorRef<C> self;
  private final Supplier<C> written;
  private EventHandler<S, E> eventHandler;

  /** {@code written}: makes the entity's {@link GroupCommit.Written} command. */
  protected GroupCommittedBehavior(PersistenceId persistenceId, BackoffSupervisorStrategy supervision, Class<R> requestClass,
      ActorRef<C> self, Supplier<C> written) {
    super(persistenceId, supervision);
    this.requestClass = requestClass;
    this.self = self;
    this.written = written;
  }

  /** What {@code request} does in {@code state}: at most one event, and its answer from the state after it. */
  protected abstract Decision<E, S> decide(S state, R request);

  @Override
  @SuppressWarnings("unchecked")
  public final CommandHandlerWithReply<C, E, S> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(command -> command instanceof Batch<?>,
            (state, batch) -> persistBatch(state, ((Batch<R>) batch).requests()))
        .onCommand(requestClass, (state, request) -> persistBatch(state, List.of(request)))
        .onCommand(command -> command instanceof GroupCommit.Written, (state, w) -> Effect().noReply())
        .build();
  }

  /** Requests queue in {@link GroupCommit} until the entity has recovered (again, after a failed write). */
  @Override
  public SignalHandler<S> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          recovered(state);
          self.tell(written.get());
        })
        .onSignal(PostStop.class, (state, signal) -> stopped())
        .onSignal(PreRestart.class, (state, signal) -> stopped())
        .build();
  }

  /** Runs once recovery completed, before the first batch: for work a crash left unfinished. */
  protected void recovered(S state) {}

  /** Runs once a batch's events are written, in order, before its requests are answered. */
  protected void persisted(List<E> events) {}

  /** Runs when this incarnation stops or restarts (after a failed write). */
  protected void stopped() {}

  /**
   * Requests whose events may wait for the entity's next write instead of costing one of their own: decided after
   * the requests of any batch that persists something, or of one with a request that {@link #flushesRiders}.
   */
  protected List<R> riders() {
    return List.of();
  }

  /** Whether {@code request} has the {@link #riders} written even when nothing else is. */
  protected boolean flushesRiders(R request) {
    return false;
  }

  private ReplyEffect<E, S> persistBatch(S state, List<R> requests) {
    return GroupCommit.persist(Effect(), state, requests, this::decide, this::applyEvent, this::riders,
        this::flushesRiders, this::persisted, () -> self.tell(written.get()));
  }

  private S applyEvent(S state, E event) {
    if (eventHandler == null) eventHandler = eventHandler();
    return eventHandler.apply(state, event);
  }
}
