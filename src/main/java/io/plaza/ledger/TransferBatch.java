package io.plaza.ledger;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Metrics;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Linked transfers: several legs applied all-or-nothing, as a two-phase commit over the accounts. Reserve: every
 * source holds its leg's amount and every destination records the credit it will receive (which keeps it open and
 * makes the credit impossible to refuse). If any reservation is refused, every reservation is withdrawn and nothing
 * took effect; otherwise commit: every hold is captured and every expected credit applied, none of which can be
 * refused. Like {@link Transfer}, only the request and the phase changes are persisted; a restarted batch re-sends
 * the legs of its current phase, which the accounts apply at most once (by leg id).
 */
public final class TransferBatch
    extends EventSourcedBehaviorWithEnforcedReplies<TransferBatch.Command, TransferBatch.Event, TransferBatch.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "TransferBatch");

  /** Fixed forever once events are written. */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> "ledger-batch-" + i).toList();

  public static final int MAX_LEGS = 20;

  public record Leg(String from, String to, long amount, String currency, String reference)
      implements CborSerializable {}

  /** A retry with the same key must ask for exactly the same legs. */
  public record Request(String requester, List<Leg> legs) implements CborSerializable {}

  /** The id under which the accounts, the journal and the `transfers` read model know leg {@code index}. */
  public static String legId(String batchId, int index) {
    return batchId + ":" + index;
  }

  public static String idFor(String requester, String idempotencyKey) {
    return java.util.UUID.nameUUIDFromBytes(("batch\n" + requester + "\n" + idempotencyKey)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
  }

  public static String tagFor(String batchId) {
    return TAGS.get(Math.floorMod(batchId.hashCode(), TAG_COUNT));
  }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  public record Initiate(Request request, ActorRef<Reply> replyTo) implements Command {}

  public record Get(String requester, ActorRef<Reply> replyTo) implements Command {}

  enum Step { HOLD, EXPECT, CAPTURE, CREDIT, RELEASE, CANCEL }

  /** One account's answer to one step of one leg. Local only. */
  record StepAnswered(Step step, int leg, LedgerAccount.Reply reply, Throwable failure) implements Command {}

  record RetryStep(Step step, int leg) implements Command {}

  record ReplyNow() implements Command {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  public record BatchReply(View batch, boolean replayed) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  public enum Status { PENDING, COMPLETED, FAILED, PARKED }

  public record View(
      String batchId, Request request, Status status, String detail, Rejection rejection, List<Transfer.Step> steps,
      Instant createdAt, Instant finishedAt)
      implements CborSerializable {}

  // ---- Events -----------------------------------------------------------------------------------------------

  /** Every event after the request carries the number of legs, so the read model can update each leg's row. */
  public sealed interface Event extends CborSerializable {
    String batchId();

    int legs();
  }

  public record Requested(String batchId, Request request, Instant initiatedAt) implements Event {
    @Override
    public int legs() {
      return request.legs().size();
    }
  }

  /** Every leg is reserved: commit. */
  public record Reserved(String batchId, int legs, Instant at) implements Event {}

  /** Leg {@code leg} was refused: withdraw every reservation. */
  public record Aborting(String batchId, int legs, int leg, Rejection rejection, Instant at) implements Event {}

  public record Completed(String batchId, int legs, Instant at) implements Event {}

  public record Failed(String batchId, int legs, int leg, Rejection rejection, Instant at) implements Event {}

  /** A commit step was refused, which reservations rule out: the books disagree, an operator must look. */
  public record Parked(String batchId, int legs, String reason, Instant at) implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record NoBatch() implements State {}

  public enum Phase { RESERVE, COMMIT, ABORT }

  public record Running(
      Request request, Instant initiatedAt, Phase phase, List<Transfer.Step> steps, int failedLeg,
      Rejection rejection)
      implements State {}

  public record Finished(
      Request request, Instant initiatedAt, Status status, List<Transfer.Step> steps, String detail,
      Rejection rejection, Instant finishedAt)
      implements State {}

  // ---- Behavior ---------------------------------------------------------------------------------------------

  /** Sharded with remember-entities, like {@link Transfer}: a running batch restarts after a crash and finishes. */
  public static void init(ActorSystem<?> system, Transfer.Settings settings) {
    var sharding = ClusterSharding.get(system);
    Transfer.Accounts accounts = (accountId, command) ->
        sharding.entityRefFor(LedgerAccount.ENTITY_KEY, accountId).ask(command::apply, settings.legTimeout());
    sharding.init(Metrics.get(system).entity(ENTITY_KEY, Command.class,
            entity -> create(entity.getEntityId(), accounts, settings, Clock.systemUTC(),
                self -> entity.getShard().tell(new ClusterSharding.Passivate<>(self))))
        .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
  }

  public static Behavior<Command> create(String batchId, Transfer.Accounts accounts, Transfer.Settings settings,
      Clock clock, Consumer<ActorRef<Command>> passivate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new TransferBatch(ctx, timers, batchId, accounts, settings, clock, () -> passivate.accept(ctx.getSelf()))));
  }

  private record Pending(Step step, int leg) {}

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final String batchId;
  private final Transfer.Accounts accounts;
  private final Transfer.Settings settings;
  private final Clock clock;
  private final Runnable passivate;
  // In memory only: waiting callers, the steps of the current phase still unanswered, and what went wrong in it.
  private final OutcomeWaiters<Reply> waiting = new OutcomeWaiters<>();
  private final Set<Pending> outstanding = new HashSet<>();
  // Steps sent by this incarnation; after a restart every step may have been sent before (see LedgerAccount.Debit).
  private final Set<Pending> sent = new HashSet<>();
  private boolean resumed;
  private int refusedLeg = -1;
  private Rejection refusal;
  private String parkReason;

  private TransferBatch(ActorContext<Command> ctx, TimerScheduler<Command> timers, String batchId,
      Transfer.Accounts accounts, Transfer.Settings settings, Clock clock, Runnable passivate) {
    super(PersistenceId.of(ENTITY_KEY.name(), batchId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.ctx = ctx;
    this.timers = timers;
    this.batchId = batchId;
    this.accounts = accounts;
    this.settings = settings;
    this.clock = clock;
    this.passivate = passivate;
  }

  @Override
  public State emptyState() {
    return new NoBatch();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tagFor(batchId));
  }

  /**
   * It never snapshots, so its recovery skips the snapshot store: one Cassandra read less for each new one (one per
   * request). Give this up before adding a snapshot rule.
   */
  @Override
  public String journalPluginId() {
    return io.plaza.platform.Cassandra.oneShotJournal(ctx.getSystem());
  }

  @Override
  public Recovery recovery() {
    return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state instanceof Running running) {
            resumed = true;
            dispatch(running);
          }
          else if (state instanceof Finished) passivate.run();
        })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    // As with Transfer: the HTTP layer validates first and reads unknown ids from the read model.
    builder.forStateType(NoBatch.class)
        .onCommand(Initiate.class, this::initiate)
        .onCommand(Get.class, cmd -> Effect().reply(cmd.replyTo(),
            new Rejected(Rejection.notFound(LedgerProblem.BATCH_NOT_FOUND, "batch " + batchId + " does not exist"))))
        .onCommand(StepAnswered.class, cmd -> Effect().noReply())
        .onCommand(RetryStep.class, cmd -> Effect().noReply())
        .onCommand(ReplyNow.class, cmd -> Effect().noReply());
    builder.forStateType(Running.class)
        .onCommand(Initiate.class, (state, cmd) -> {
          if (!state.request().equals(cmd.request())) return keyReused(cmd.replyTo());
          // A copy of the request being carried out (a retry, a duplicate sent at once): answered as a replay.
          waiting.replay(cmd.replyTo());
          startCompletionWait();
          return Effect().noReply();
        })
        .onCommand(Get.class, (state, cmd) -> viewFor(state, cmd.requester(), cmd.replyTo()))
        .onCommand(StepAnswered.class, this::stepAnswered)
        .onCommand(RetryStep.class, (state, cmd) -> {
          if (outstanding.contains(new Pending(cmd.step(), cmd.leg()))) send(cmd.step(), cmd.leg(), state);
          return Effect().noReply();
        })
        .onCommand(ReplyNow.class, (state, cmd) -> {
          answerWaiting(view(state));
          return Effect().noReply();
        });
    builder.forStateType(Finished.class)
        .onCommand(Initiate.class, (state, cmd) -> {
          if (!state.request().equals(cmd.request())) return keyReused(cmd.replyTo());
          return Effect().none().thenRun(s -> passivate.run())
              .thenReply(cmd.replyTo(), s -> new BatchReply(view(s), true));
        })
        .onCommand(Get.class, (state, cmd) -> viewFor(state, cmd.requester(), cmd.replyTo()))
        .onCommand(StepAnswered.class, cmd -> Effect().noReply())
        .onCommand(RetryStep.class, cmd -> Effect().noReply())
        .onCommand(ReplyNow.class, cmd -> Effect().noReply());
    return builder.build();
  }

  private ReplyEffect<Event, State> initiate(Initiate cmd) {
    var legs = cmd.request().legs();
    if (legs == null || legs.isEmpty() || legs.size() > MAX_LEGS) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.badRequest(
          "a batch has 1 to " + MAX_LEGS + " legs")));
    }
    for (var leg : legs) {
      if (leg.amount() <= 0 || leg.from().equals(leg.to())) {
        return Effect().reply(cmd.replyTo(), new Rejected(Rejection.badRequest(
            "every leg needs a positive amount and two different accounts")));
      }
    }
    awaitOutcome(cmd.replyTo());
    return Effect().persist(new Requested(batchId, cmd.request(), clock.instant()))
        .thenRun(state -> dispatch((Running) state))
        .thenNoReply();
  }

  private void awaitOutcome(ActorRef<Reply> replyTo) {
    waiting.original(replyTo);
    startCompletionWait();
  }

  private void startCompletionWait() {
    if (!timers.isTimerActive(new ReplyNow())) timers.startSingleTimer(new ReplyNow(), settings.completionWait());
  }

  private ReplyEffect<Event, State> keyReused(ActorRef<Reply> replyTo) {
    return Effect().reply(replyTo, new Rejected(Rejection.conflict(LedgerProblem.IDEMPOTENCY_KEY_REUSED,
        "this Idempotency-Key was already used for a different batch")));
  }

  private ReplyEffect<Event, State> viewFor(State state, String requester, ActorRef<Reply> replyTo) {
    var view = view(state);
    if (!view.request().requester().equals(requester)) {
      return Effect().reply(replyTo, new Rejected(Rejection.forbidden(LedgerProblem.NOT_TRANSFER_OWNER,
          "batch " + batchId + " was made by another user")));
    }
    return Effect().reply(replyTo, new BatchReply(view, false));
  }

  /** Sends both steps of every leg for the current phase. */
  private void dispatch(Running state) {
    outstanding.clear();
    refusedLeg = -1;
    refusal = null;
    parkReason = null;
    var steps = switch (state.phase()) {
      case RESERVE -> List.of(Step.HOLD, Step.EXPECT);
      case COMMIT -> List.of(Step.CAPTURE, Step.CREDIT);
      case ABORT -> List.of(Step.RELEASE, Step.CANCEL);
    };
    for (int i = 0; i < state.request().legs().size(); i++) {
      for (var step : steps) outstanding.add(new Pending(step, i));
    }
    for (var pending : List.copyOf(outstanding)) send(pending.step(), pending.leg(), state);
  }

  private void send(Step step, int index, Running state) {
    var leg = state.request().legs().get(index);
    var id = legId(batchId, index);
    var at = state.initiatedAt();
    var requester = state.request().requester();
    boolean retry = resumed || !sent.add(new Pending(step, index));
    var answer = switch (step) {
      case HOLD -> accounts.ask(leg.from(), r ->
          new LedgerAccount.Hold(id, requester, leg.to(), leg.amount(), leg.currency(), at, retry, r));
      case EXPECT -> accounts.ask(leg.to(), r ->
          new LedgerAccount.ExpectCredit(id, leg.from(), leg.amount(), leg.currency(), at, retry, r));
      case CAPTURE -> accounts.ask(leg.from(), r ->
          new LedgerAccount.Capture(id, leg.to(), leg.amount(), at, retry, r));
      case CREDIT -> accounts.ask(leg.to(), r ->
          new LedgerAccount.Credit(id, leg.from(), leg.amount(), leg.currency(), at, retry, r));
      case RELEASE -> accounts.ask(leg.from(), r -> new LedgerAccount.Release(id, at, retry, r));
      case CANCEL -> accounts.ask(leg.to(), r -> new LedgerAccount.CancelExpectedCredit(id, at, r));
    };
    ctx.pipeToSelf(answer, (reply, failure) -> new StepAnswered(step, index, reply, failure));
  }

  private ReplyEffect<Event, State> stepAnswered(Running state, StepAnswered answer) {
    var pending = new Pending(answer.step(), answer.leg());
    if (!outstanding.contains(pending)) return Effect().noReply();
    if (answer.failure() != null) {
      // Unknown outcome: ask again (every step is idempotent by leg id).
      timers.startSingleTimer(pending, new RetryStep(answer.step(), answer.leg()), settings.minRetry().multipliedBy(4));
      return Effect().noReply();
    }
    outstanding.remove(pending);
    var reply = answer.reply();
    if (!(reply instanceof LedgerAccount.MovementReply)) {
      var why = reply instanceof LedgerAccount.Rejected r ? r.rejection()
          : Rejection.unprocessable("account cannot tell whether leg " + answer.leg() + " was applied");
      switch (state.phase()) {
        case RESERVE -> {
          if (refusal == null) {
            refusal = why;
            refusedLeg = answer.leg();
          }
        }
        case COMMIT -> parkReason = "leg " + answer.leg() + " " + answer.step().name().toLowerCase(
            java.util.Locale.ROOT) + " refused: " + why.detail();
        // Withdrawing a reservation that was never made is fine: nothing to undo.
        case ABORT -> { }
      }
    }
    if (!outstanding.isEmpty()) return Effect().noReply();
    var now = clock.instant();
    int legs = state.request().legs().size();
    return switch (state.phase()) {
      case RESERVE -> refusal == null
          ? Effect().persist(new Reserved(batchId, legs, now)).thenRun(s -> dispatch((Running) s)).thenNoReply()
          : Effect().persist(new Aborting(batchId, legs, refusedLeg, refusal, now))
              .thenRun(s -> dispatch((Running) s)).thenNoReply();
      case COMMIT -> finish(parkReason == null ? new Completed(batchId, legs, now)
          : new Parked(batchId, legs, parkReason, now));
      case ABORT -> finish(new Failed(batchId, legs, state.failedLeg(), state.rejection(), now));
    };
  }

  private ReplyEffect<Event, State> finish(Event outcome) {
    timers.cancel(new ReplyNow());
    return Effect().persist(outcome)
        .thenRun(state -> {
          answerWaiting(view(state));
          passivate.run();
        })
        .thenNoReply();
  }

  private void answerWaiting(View view) {
    waiting.answer(replay -> new BatchReply(view, replay));
  }

  private View view(State state) {
    if (state instanceof Running r) {
      return new View(batchId, r.request(), Status.PENDING, null, null, r.steps(), r.initiatedAt(), null);
    }
    var f = (Finished) state;
    return new View(batchId, f.request(), f.status(), f.detail(), f.rejection(), f.steps(), f.initiatedAt(),
        f.finishedAt());
  }

  private static List<Transfer.Step> withStep(List<Transfer.Step> steps, String name, Instant at) {
    var copy = new ArrayList<>(steps);
    copy.add(new Transfer.Step(name, at));
    return List.copyOf(copy);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(NoBatch.class)
        .onEvent(Requested.class, (state, e) -> new Running(e.request(), e.initiatedAt(), Phase.RESERVE,
            List.of(new Transfer.Step("requested", e.initiatedAt())), -1, null));
    builder.forStateType(Running.class)
        .onEvent(Reserved.class, (state, e) -> new Running(state.request(), state.initiatedAt(), Phase.COMMIT,
            withStep(state.steps(), "reserved", e.at()), -1, null))
        .onEvent(Aborting.class, (state, e) -> new Running(state.request(), state.initiatedAt(), Phase.ABORT,
            withStep(state.steps(), "refused", e.at()), e.leg(), e.rejection()))
        .onEvent(Completed.class, (state, e) -> new Finished(state.request(), state.initiatedAt(), Status.COMPLETED,
            withStep(state.steps(), "committed", e.at()), null, null, e.at()))
        .onEvent(Failed.class, (state, e) -> new Finished(state.request(), state.initiatedAt(), Status.FAILED,
            withStep(state.steps(), "released", e.at()), "leg " + e.leg() + ": " + e.rejection().detail(),
            e.rejection(), e.at()))
        .onEvent(Parked.class, (state, e) -> new Finished(state.request(), state.initiatedAt(), Status.PARKED,
            withStep(state.steps(), "parked", e.at()), e.reason(), null, e.at()));
    return builder.build();
  }
}
