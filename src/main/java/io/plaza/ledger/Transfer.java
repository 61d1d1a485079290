package io.plaza.ledger;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Metrics;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
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
 * One money transfer between two ledger accounts, run as a saga: debit the source, credit the destination, and if
 * the credit cannot happen give the debit back. Its id comes from the caller and their Idempotency-Key, so the entity
 * is also the persisted idempotency record. Only the request and the outcome are persisted: after a crash the saga
 * re-sends its legs, and the accounts answer legs they already applied from memory (idempotent by transfer id).
 */
public final class Transfer
    extends EventSourcedBehaviorWithEnforcedReplies<Transfer.Command, Transfer.Event, Transfer.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Transfer");

  /** Fixed forever once events are written, for the same reason as {@link LedgerAccount#TAG_COUNT}. */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> "ledger-transfer-" + i).toList();

  /** How the saga reaches accounts: sharding in production, plain actors in unit tests. */
  public interface Accounts {
    CompletionStage<LedgerAccount.Reply> ask(
        String accountId, Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> command);
  }

  /**
   * {@code completionWait}: how long a caller waits for the outcome before it is told "pending".
   * {@code pauseBeforeCredit}: fault injection for tests (zero in production): holds the saga between its debit and
   * its credit, so a test can crash a node exactly there. {@code settlementDelay}: how long a source account's
   * settlement may wait to ride along with its next write (zero: written at once).
   */
  public record Settings(
      Duration completionWait, Duration legTimeout, Duration minRetry, Duration maxRetry, Duration pauseBeforeCredit,
      Duration settlementDelay) {

    public Settings(Duration completionWait, Duration legTimeout, Duration minRetry, Duration maxRetry) {
      this(completionWait, legTimeout, minRetry, maxRetry, Duration.ZERO, Duration.ZERO);
    }

    public Settings withSettlementDelay(Duration delay) {
      return new Settings(completionWait, legTimeout, minRetry, maxRetry, pauseBeforeCredit, delay);
    }

    public static Settings fromConfig(com.typesafe.config.Config transfers) {
      return new Settings(transfers.getDuration("completion-wait"), transfers.getDuration("leg-timeout"),
          transfers.getDuration("min-retry"), transfers.getDuration("max-retry"),
          transfers.getDuration("fault-injection.pause-before-credit"), transfers.getDuration("settlement-delay"));
    }
  }

  /**
   * What the caller asked for; a retry with the same key must ask for exactly the same. {@code holdSeconds} > 0 makes a
   * pending transfer: the money is only held until it is posted, voided, or the hold expires. {@code reverses}: the
   * id of the transfer this one gives back (null for an ordinary transfer).
   */
  public record Request(
      String requester, String from, String to, long amount, String currency, String reference, long holdSeconds,
      String reverses)
      implements CborSerializable {

    public Request(String requester, String from, String to, long amount, String currency, String reference) {
      this(requester, from, to, amount, currency, reference, 0, null);
    }

    public Request(String requester, String from, String to, long amount, String currency, String reference,
        long holdSeconds) {
      this(requester, from, to, amount, currency, reference, holdSeconds, null);
    }

    boolean pending() {
      return holdSeconds > 0;
    }
  }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  public record Initiate(Request request, ActorRef<Reply> replyTo) implements Command {}

  public record Get(String requester, ActorRef<Reply> replyTo) implements Command {}

  /** Completes a held (pending) transfer with {@code amount}, at most the held amount ({@link #HELD_AMOUNT}: all). */
  public record PostPending(String requester, long amount, ActorRef<Reply> replyTo) implements Command {
    /** Post what is held: the caller need not know the amount (and must not read it from a lagging read model). */
    public static final long HELD_AMOUNT = 0;

    PostPending resolved(Request request) {
      return amount == HELD_AMOUNT ? new PostPending(requester, request.amount(), replyTo) : this;
    }
  }

  /** The transfer as it stands, whoever asks: for callers that check ownership themselves (a reversal's payee). */
  public record Inspect(ActorRef<Reply> replyTo) implements Command {}

  /** Gives up a held (pending) transfer: the hold is released, no money moves. */
  public record VoidPending(String requester, ActorRef<Reply> replyTo) implements Command {}

  /** The hold's deadline passed: void it. Local only. */
  record Expire() implements Command {}

  /** A leg's answer (or failure to answer), piped back to the entity. Local only. */
  record LegAnswered(Leg leg, LedgerAccount.Reply reply, Throwable failure) implements Command {}

  record RetryLeg(Leg leg) implements Command {}

  /** The completion wait is over: tell waiting callers where the transfer stands. */
  record ReplyNow() implements Command {}

  /**
   * Sharding's stop message (passivation, hand-off). It queues behind what is already in the mailbox, so an Initiate
   * that slipped in before it runs first; a saga it finds in flight after a passivation is not cut short.
   */
  record Stop() implements Command {}

  enum Leg { DEBIT, CREDIT, REFUND, HOLD, CAPTURE, RELEASE }

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  /** {@code replayed}: the same request under the same key had been accepted before. */
  public record TransferReply(View transfer, boolean replayed) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  /** HELD: a pending transfer's money is reserved, waiting for a post or a void. VOIDED, EXPIRED: released. */
  public enum Status { PENDING, HELD, COMPLETED, FAILED, COMPENSATED, PARKED, VOIDED, EXPIRED }

  public record Step(String name, Instant at) implements CborSerializable {}

  /** {@code postedAmount}: what a pending transfer posted (null until posted, and for plain transfers). */
  public record View(
      String transferId, Request request, Status status, String detail, Rejection rejection, List<Step> steps,
      Instant createdAt, Instant finishedAt, Instant expiresAt, Long postedAmount)
      implements CborSerializable {}

  // ---- Events -----------------------------------------------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String transferId();
  }

  public record Requested(String transferId, Request request, Instant initiatedAt) implements Event {}

  /** The destination refused the credit after the source was debited: the refund comes next. */
  public record CreditRefused(String transferId, String reason, Instant debitedAt, Instant at) implements Event {}

  public record Completed(String transferId, Instant debitedAt, Instant creditedAt, Instant at) implements Event {}

  /** The source refused the debit: nothing moved. */
  public record Failed(String transferId, Rejection rejection, Instant at) implements Event {}

  public record Compensated(String transferId, Instant refundedAt, Instant at) implements Event {}

  /** A pending transfer's money is held on the source until {@code expiresAt}. */
  public record Held(String transferId, Instant heldAt, Instant expiresAt) implements Event {}

  /** The caller posted the held transfer: capture {@code amount} from the hold, then credit it. */
  public record PostRequested(String transferId, long amount, Instant at) implements Event {}

  /** The hold is to be released: {@code expired} says whether its deadline passed or the caller voided it. */
  public record VoidRequested(String transferId, boolean expired, Instant at) implements Event {}

  public record Voided(String transferId, boolean expired, Instant releasedAt, Instant at) implements Event {}

  /** An account could not tell whether a leg was applied: an operator must look (the invariant checker lists it). */
  public record Parked(String transferId, Leg leg, String reason, Instant at) implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record NoTransfer() implements State {}

  /**
   * A transfer on its way. For a pending one: {@code expiresAt} once the hold is placed, then {@code postAmount} once
   * posted or {@code voiding} once voided or expired. {@code creditRefusal}: the credit was refused, a refund is next.
   */
  public record InFlight(
      Request request, Instant initiatedAt, List<Step> steps, String creditRefusal, Instant expiresAt,
      Long postAmount, Boolean voiding)
      implements State {

    InFlight(Request request, Instant initiatedAt, List<Step> steps, String creditRefusal) {
      this(request, initiatedAt, steps, creditRefusal, null, null, null);
    }

    /** Held and waiting for the caller (or the deadline). */
    boolean held() {
      return expiresAt != null && postAmount == null && voiding == null;
    }

    /** What moves: the posted amount of a pending transfer, else the requested amount. */
    long amount() {
      return postAmount != null ? postAmount : request.amount();
    }

    InFlight with(List<Step> steps, String creditRefusal, Instant expiresAt, Long postAmount, Boolean voiding) {
      return new InFlight(request, initiatedAt, steps, creditRefusal, expiresAt, postAmount, voiding);
    }
  }

  public record Finished(
      Request request, Instant initiatedAt, List<Step> steps, Status status, String detail, Rejection rejection,
      Instant finishedAt, Instant expiresAt, Long postedAmount)
      implements State {}

  // ---- Behavior ---------------------------------------------------------------------------------------------

  /**
   * Sharded with remember-entities: a transfer in flight is restarted wherever its shard lands after a crash and
   * finishes its saga; a finished one passivates, which also drops it from the remembered set.
   */
  public static void init(ActorSystem<?> system, Settings settings) {
    var sharding = ClusterSharding.get(system);
    Accounts accounts = (accountId, command) ->
        sharding.entityRefFor(LedgerAccount.ENTITY_KEY, accountId).ask(command::apply, settings.legTimeout());
    sharding.init(Metrics.get(system).entity(ENTITY_KEY, Command.class,
            entity -> create(entity.getEntityId(), accounts, settings, Clock.systemUTC(),
                self -> entity.getShard().tell(new ClusterSharding.Passivate<>(self))))
        .withStopMessage(new Stop())
        .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
  }

  /** @param passivate stops the entity once it is finished (sharding's Passivate), or does nothing in tests */
  public static Behavior<Command> create(String transferId, Accounts accounts, Settings settings, Clock clock,
      Consumer<ActorRef<Command>> passivate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Transfer(ctx, timers, transferId, accounts, settings, clock, () -> passivate.accept(ctx.getSelf()))));
  }

  /** A caller's Idempotency-Key names one transfer: the same user and key always give the same id. */
  public static String idFor(String requester, String idempotencyKey) {
    return java.util.UUID.nameUUIDFromBytes(("transfer\n" + requester + "\n" + idempotencyKey)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
  }

  /** A transfer has at most one reversal, so its id follows from the original's. */
  public static String reversalIdFor(String transferId) {
    return java.util.UUID.nameUUIDFromBytes(("reversal\n" + transferId)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
  }

  public static String tagFor(String transferId) {
    return TAGS.get(Math.floorMod(transferId.hashCode(), TAG_COUNT));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final String transferId;
  private final Accounts accounts;
  private final Settings settings;
  private final Clock clock;
  private final Runnable passivate;
  // In memory only: callers waiting for the outcome, the leg whose answer counts, and the retry backoff.
  private final OutcomeWaiters<Reply> waiting = new OutcomeWaiters<>();
  private Leg outstanding;
  // Legs sent by this incarnation; after a restart every leg may have been sent before (see LedgerAccount.Debit).
  private final Set<Leg> sent = java.util.EnumSet.noneOf(Leg.class);
  private boolean resumed;
  /** This entity asked sharding to passivate it (which also forgets it in the remembered set). */
  private boolean passivationAsked;
  /** Passivation asked for a stop while the saga was in flight: stop when it finishes. */
  private boolean stopWhenFinished;
  private Instant debitedAt;
  private Duration nextRetry;

  private Transfer(ActorContext<Command> ctx, TimerScheduler<Command> timers, String transferId, Accounts accounts,
      Settings settings, Clock clock, Runnable passivate) {
    super(PersistenceId.of(ENTITY_KEY.name(), transferId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.ctx = ctx;
    this.timers = timers;
    this.transferId = transferId;
    this.accounts = accounts;
    this.settings = settings;
    this.clock = clock;
    this.passivate = passivate;
    this.nextRetry = settings.minRetry();
  }

  @Override
  public State emptyState() {
    return new NoTransfer();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tagFor(transferId));
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
          // A transfer interrupted by a crash or a move carries on from its last persisted step.
          if (state instanceof InFlight inFlight) {
            resumed = true;
            resume(inFlight);
          } else if (state instanceof Finished) {
            // Started for a read or a replay, or restarted as remembered after a crash that came before its
            // passivation: it answers what is already in its mailbox, then leaves memory (and the remembered set).
            passivate();
          }
        })
        .build();
  }

  private void resume(InFlight f) {
    if (f.creditRefusal() != null) send(Leg.REFUND, f);
    else if (f.voiding() != null) send(Leg.RELEASE, f);
    else if (f.postAmount() != null) send(Leg.CAPTURE, f);
    else if (f.expiresAt() != null) armExpiry(f);
    else send(f.request().pending() ? Leg.HOLD : Leg.DEBIT, f);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    // An unknown id asked about leaves memory (and the remembered set) at once. Safe: the Stop that passivation
    // sends queues behind an Initiate already in the mailbox, and a saga in flight is never stopped (see Stop).
    builder.forStateType(NoTransfer.class)
        .onCommand(Initiate.class, this::initiate)
        .onCommand(Get.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(PostPending.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(VoidPending.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(Inspect.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(Stop.class, cmd -> Effect().stop().thenNoReply())
        .onCommand(Expire.class, cmd -> Effect().noReply())
        .onCommand(LegAnswered.class, cmd -> Effect().noReply())
        .onCommand(RetryLeg.class, cmd -> Effect().noReply())
        .onCommand(ReplyNow.class, cmd -> Effect().noReply());
    builder.forStateType(InFlight.class)
        .onCommand(Initiate.class, this::initiateAgain)
        .onCommand(Get.class, (state, cmd) -> viewFor(state, cmd.requester(), cmd.replyTo()))
        .onCommand(Inspect.class, (state, cmd) -> Effect().reply(cmd.replyTo(), new TransferReply(view(state), false)))
        .onCommand(PostPending.class, (state, cmd) -> post(state, cmd.resolved(state.request())))
        .onCommand(VoidPending.class, this::voidHold)
        .onCommand(Expire.class, (state, cmd) -> state.held()
            ? Effect().persist(new VoidRequested(transferId, true, clock.instant()))
                .thenRun(s -> send(Leg.RELEASE, (InFlight) s)).thenNoReply()
            : Effect().noReply())
        .onCommand(LegAnswered.class, this::legAnswered)
        .onCommand(RetryLeg.class, (state, cmd) -> {
          if (cmd.leg() == outstanding) send(cmd.leg(), state);
          return Effect().noReply();
        })
        .onCommand(ReplyNow.class, (state, cmd) -> {
          answerWaiting(view(state));
          return Effect().noReply();
        })
        .onCommand(Stop.class, (state, cmd) -> {
          // A hand-off (rebalance, shutdown) stops a running saga at once: it stays remembered and resumes where its
          // shard lands. Only a passivation this entity asked for (it was unknown, then an Initiate slipped in)
          // would drop it from the remembered set mid-saga: that one waits for the saga to finish.
          if (!passivationAsked) return Effect().stop().thenNoReply();
          stopWhenFinished = true;
          return Effect().noReply();
        });
    builder.forStateType(Finished.class)
        .onCommand(Initiate.class, (state, cmd) -> {
          if (!state.request().equals(cmd.request())) return keyReused(cmd.replyTo());
          return replayed(cmd.replyTo());
        })
        .onCommand(Get.class, (state, cmd) -> viewFor(state, cmd.requester(), cmd.replyTo()))
        .onCommand(Inspect.class, (state, cmd) -> Effect().reply(cmd.replyTo(), new TransferReply(view(state), false)))
        .onCommand(PostPending.class, (state, cmd) -> {
          var refusal = postRefusal(state, cmd.resolved(state.request()));
          return refusal != null ? Effect().reply(cmd.replyTo(), new Rejected(refusal)) : replayed(cmd.replyTo());
        })
        .onCommand(VoidPending.class, (state, cmd) -> {
          var refusal = voidRefusal(state, cmd.requester());
          return refusal != null ? Effect().reply(cmd.replyTo(), new Rejected(refusal)) : replayed(cmd.replyTo());
        })
        .onCommand(Expire.class, cmd -> Effect().noReply())
        .onCommand(LegAnswered.class, cmd -> Effect().noReply())
        .onCommand(RetryLeg.class, cmd -> Effect().noReply())
        .onCommand(ReplyNow.class, cmd -> Effect().noReply())
        .onCommand(Stop.class, cmd -> Effect().stop().thenNoReply());
    return builder.build();
  }

  private void passivate() {
    passivationAsked = true;
    passivate.run();
  }

  private Rejected notFound() {
    return new Rejected(Rejection.notFound(LedgerProblem.TRANSFER_NOT_FOUND,
        "transfer " + transferId + " does not exist"));
  }

  private ReplyEffect<Event, State> unknown(ActorRef<Reply> replyTo) {
    return Effect().none().thenRun(s -> passivate()).thenReply(replyTo, s -> notFound());
  }

  /** Finished transfers do not stay in memory: answer, then passivate again. */
  private ReplyEffect<Event, State> replayed(ActorRef<Reply> replyTo) {
    return Effect().none().thenRun(s -> passivate()).thenReply(replyTo, s -> new TransferReply(view(s), true));
  }

  private ReplyEffect<Event, State> initiate(Initiate cmd) {
    var request = cmd.request();
    if (request.amount() <= 0) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.badRequest("amount must be positive")));
    }
    if (request.from().equals(request.to())) {
      return Effect().reply(cmd.replyTo(),
          new Rejected(Rejection.badRequest("from and to must be different accounts")));
    }
    if (request.holdSeconds() < 0) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.badRequest("holdSeconds must not be negative")));
    }
    awaitOutcome(cmd.replyTo());
    return Effect().persist(new Requested(transferId, request, clock.instant()))
        .thenRun(state -> resume((InFlight) state))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> initiateAgain(InFlight state, Initiate cmd) {
    if (!state.request().equals(cmd.request())) return keyReused(cmd.replyTo());
    if (state.held()) return Effect().reply(cmd.replyTo(), new TransferReply(view(state), true));
    awaitReplay(cmd.replyTo());
    return Effect().noReply();
  }

  /** The caller is answered with the outcome, or with "pending" when the completion wait is over. */
  private void awaitOutcome(ActorRef<Reply> replyTo) {
    waiting.original(replyTo);
    startCompletionWait();
  }

  /** The same, for a copy of the request being carried out: it is answered as a replay. */
  private void awaitReplay(ActorRef<Reply> replyTo) {
    waiting.replay(replyTo);
    startCompletionWait();
  }

  private void startCompletionWait() {
    if (!timers.isTimerActive(new ReplyNow())) timers.startSingleTimer(new ReplyNow(), settings.completionWait());
  }

  private ReplyEffect<Event, State> post(InFlight state, PostPending cmd) {
    if (!state.request().pending()) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.NOT_PENDING,
          "transfer " + transferId + " is not a pending transfer: there is nothing to post")));
    }
    if (!state.request().requester().equals(cmd.requester())) return Effect().reply(cmd.replyTo(), otherUser());
    if (state.postAmount() != null) {
      if (state.postAmount() != cmd.amount()) return Effect().reply(cmd.replyTo(), postedWith(state.postAmount()));
      awaitReplay(cmd.replyTo());
      return Effect().noReply();
    }
    if (state.voiding() != null) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.HOLD_SETTLED,
          "transfer " + transferId + " is being voided and can no longer be posted")));
    }
    if (state.expiresAt() == null) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.HOLD_NOT_PLACED,
          "transfer " + transferId + " is still placing its hold; post it once it is HELD")));
    }
    if (cmd.amount() <= 0 || cmd.amount() > state.request().amount()) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.unprocessable(LedgerProblem.POST_AMOUNT_INVALID,
          "a pending transfer posts 1 to " + state.request().amount() + " (the held amount), not " + cmd.amount())));
    }
    awaitOutcome(cmd.replyTo());
    timers.cancel(new Expire());
    return Effect().persist(new PostRequested(transferId, cmd.amount(), clock.instant()))
        .thenRun(s -> send(Leg.CAPTURE, (InFlight) s))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> voidHold(InFlight state, VoidPending cmd) {
    if (!state.request().pending()) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.NOT_PENDING,
          "transfer " + transferId + " is not a pending transfer: there is nothing to void")));
    }
    if (!state.request().requester().equals(cmd.requester())) return Effect().reply(cmd.replyTo(), otherUser());
    if (state.postAmount() != null) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.HOLD_SETTLED,
          "transfer " + transferId + " was already posted")));
    }
    if (state.voiding() != null) {
      awaitReplay(cmd.replyTo());
      return Effect().noReply();
    }
    if (state.expiresAt() == null) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(LedgerProblem.HOLD_NOT_PLACED,
          "transfer " + transferId + " is still placing its hold; void it once it is HELD")));
    }
    awaitOutcome(cmd.replyTo());
    timers.cancel(new Expire());
    return Effect().persist(new VoidRequested(transferId, false, clock.instant()))
        .thenRun(s -> send(Leg.RELEASE, (InFlight) s))
        .thenNoReply();
  }

  /** Why a finished transfer refuses a post, or null when the post is a retry of the one that completed it. */
  private Rejection postRefusal(Finished state, PostPending cmd) {
    if (!state.request().pending()) {
      return Rejection.conflict(LedgerProblem.NOT_PENDING,
          "transfer " + transferId + " is not a pending transfer: there is nothing to post");
    }
    if (!state.request().requester().equals(cmd.requester())) return otherUser().rejection();
    return switch (state.status()) {
      case EXPIRED -> Rejection.conflict(LedgerProblem.HOLD_EXPIRED,
          "the hold of transfer " + transferId + " expired at " + state.expiresAt()
          + " and was released; it can no longer be posted");
      case VOIDED -> Rejection.conflict(LedgerProblem.HOLD_SETTLED,
          "transfer " + transferId + " was voided and can no longer be posted");
      default -> state.postedAmount() != null && state.postedAmount() == cmd.amount() ? null
          : state.postedAmount() != null ? postedWith(state.postedAmount()).rejection()
              : Rejection.conflict(LedgerProblem.TRANSFER_ENDED,
                  "transfer " + transferId + " ended " + state.status() + " and cannot be posted");
    };
  }

  private Rejection voidRefusal(Finished state, String requester) {
    if (!state.request().pending()) {
      return Rejection.conflict(LedgerProblem.NOT_PENDING,
          "transfer " + transferId + " is not a pending transfer: there is nothing to void");
    }
    if (!state.request().requester().equals(requester)) return otherUser().rejection();
    if (state.status() == Status.VOIDED || state.status() == Status.EXPIRED) return null;
    return Rejection.conflict(LedgerProblem.TRANSFER_ENDED,
        "transfer " + transferId + " ended " + state.status() + " and cannot be voided");
  }

  private Rejected otherUser() {
    return new Rejected(Rejection.forbidden(LedgerProblem.NOT_TRANSFER_OWNER,
        "transfer " + transferId + " was made by another user"));
  }

  private Rejected postedWith(long amount) {
    return new Rejected(Rejection.conflict(LedgerProblem.HOLD_SETTLED,
        "transfer " + transferId + " was already posted with amount " + amount));
  }

  private ReplyEffect<Event, State> keyReused(ActorRef<Reply> replyTo) {
    return Effect().reply(replyTo, new Rejected(Rejection.conflict(LedgerProblem.IDEMPOTENCY_KEY_REUSED,
        "this Idempotency-Key was already used for a different transfer request")));
  }

  private ReplyEffect<Event, State> viewFor(State state, String requester, ActorRef<Reply> replyTo) {
    var view = view(state);
    if (!view.request().requester().equals(requester)) return Effect().reply(replyTo, otherUser());
    return Effect().reply(replyTo, new TransferReply(view, false));
  }

  private ReplyEffect<Event, State> legAnswered(InFlight state, LegAnswered answer) {
    if (answer.leg() != outstanding) return Effect().noReply(); // a late answer to an earlier try
    if (answer.failure() != null) {
      // No answer (timeout, node moving): the outcome is unknown, so ask again later; the leg is idempotent.
      ctx.getLog().info("transfer {}: {} got no answer ({}), retrying in {}", transferId, answer.leg(),
          answer.failure().toString(), nextRetry);
      timers.startSingleTimer(new RetryLeg(answer.leg()), nextRetry);
      nextRetry = min(nextRetry.multipliedBy(2), settings.maxRetry());
      return Effect().noReply();
    }
    nextRetry = settings.minRetry();
    var reply = answer.reply();
    var now = clock.instant();
    var leg = answer.leg().name().toLowerCase(java.util.Locale.ROOT);
    if (reply instanceof LedgerAccount.LegUnknown) {
      return finish(new Parked(transferId, answer.leg(), "account cannot tell whether the " + leg + " was applied",
          now));
    }
    var moved = reply instanceof LedgerAccount.MovementReply m ? m : null;
    var refusal = moved == null ? ((LedgerAccount.Rejected) reply).rejection() : null;
    switch (answer.leg()) {
      case DEBIT, CAPTURE -> {
        if (moved != null) {
          debitedAt = moved.operation().occurredAt();
          if (settings.pauseBeforeCredit().isZero()) {
            send(Leg.CREDIT, state);
          } else {
            outstanding = Leg.CREDIT;
            timers.startSingleTimer(new RetryLeg(Leg.CREDIT), settings.pauseBeforeCredit());
          }
          return Effect().noReply();
        }
        // Only this saga captures or releases its hold, so a refused capture means the books disagree: park.
        if (answer.leg() == Leg.CAPTURE) return finish(new Parked(transferId, Leg.CAPTURE, refusal.detail(), now));
        return finish(new Failed(transferId, refusal, now));
      }
      case HOLD -> {
        if (moved == null) return finish(new Failed(transferId, refusal, now));
        outstanding = null;
        var expiresAt = state.initiatedAt().plusSeconds(state.request().holdSeconds());
        return Effect().persist(new Held(transferId, moved.operation().occurredAt(), expiresAt))
            .thenRun(s -> {
              timers.cancel(new ReplyNow());
              answerWaiting(view(s));
              armExpiry((InFlight) s);
            })
            .thenNoReply();
      }
      case RELEASE -> {
        if (moved == null) return finish(new Parked(transferId, Leg.RELEASE, refusal.detail(), now));
        return finish(new Voided(transferId, isExpiry(state), moved.operation().occurredAt(), now));
      }
      case CREDIT -> {
        if (moved != null) {
          return finish(new Completed(transferId, debitedAt, moved.operation().occurredAt(), now));
        }
        return Effect().persist(new CreditRefused(transferId, refusal.detail(), debitedAt, now))
            .thenRun(s -> send(Leg.REFUND, (InFlight) s))
            .thenNoReply();
      }
      default -> {
        if (moved != null) return finish(new Compensated(transferId, moved.operation().occurredAt(), now));
        // A refund is never refused by an existing account; keep trying rather than lose the money.
        ctx.getLog().warn("transfer {}: refund refused ({}), retrying in {}", transferId, reply,
            settings.maxRetry());
        timers.startSingleTimer(new RetryLeg(Leg.REFUND), settings.maxRetry());
        return Effect().noReply();
      }
    }
  }

  /** Whether the void under way came from the deadline (its step is named "expired"). */
  private static boolean isExpiry(InFlight state) {
    return state.steps().stream().anyMatch(step -> step.name().equals("expired"));
  }

  private void armExpiry(InFlight state) {
    var delay = Duration.between(clock.instant(), state.expiresAt());
    timers.startSingleTimer(new Expire(), delay.isNegative() ? Duration.ZERO : delay);
  }

  private ReplyEffect<Event, State> finish(Event outcome) {
    outstanding = null;
    timers.cancel(new ReplyNow());
    return Effect().persist(outcome)
        .thenRun(state -> {
          answerWaiting(view(state));
          // A passivation already under way waits for this entity to stop: no second Passivate, stop now.
          if (stopWhenFinished) ctx.getSelf().tell(new Stop());
          else passivate();
        })
        .thenNoReply();
  }

  private void answerWaiting(View view) {
    waiting.answer(replay -> new TransferReply(view, replay));
  }

  private void send(Leg leg, InFlight state) {
    outstanding = leg;
    var r = state.request();
    var id = transferId;
    var at = state.initiatedAt();
    boolean retry = resumed || !sent.add(leg);
    var answer = switch (leg) {
      case DEBIT -> accounts.ask(r.from(), replyTo ->
          new LedgerAccount.Debit(id, r.requester(), r.to(), r.amount(), r.currency(), at, retry, replyTo));
      case HOLD -> accounts.ask(r.from(), replyTo ->
          new LedgerAccount.Hold(id, r.requester(), r.to(), r.amount(), r.currency(), at, retry, replyTo));
      case CAPTURE -> accounts.ask(r.from(), replyTo ->
          new LedgerAccount.Capture(id, r.to(), state.amount(), at, retry, replyTo));
      case RELEASE -> accounts.ask(r.from(), replyTo -> new LedgerAccount.Release(id, at, retry, replyTo));
      case CREDIT -> accounts.ask(r.to(), replyTo ->
          new LedgerAccount.Credit(id, r.from(), state.amount(), r.currency(), at, retry, replyTo));
      case REFUND -> accounts.ask(r.from(), replyTo ->
          new LedgerAccount.Refund(id, state.amount(), at, retry, replyTo));
    };
    ctx.pipeToSelf(answer, (reply, failure) -> new LegAnswered(leg, reply, failure));
  }

  private static List<Step> withStep(List<Step> steps, String name, Instant at) {
    var copy = new ArrayList<>(steps);
    copy.add(new Step(name, at));
    return List.copyOf(copy);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private View view(State state) {
    if (state instanceof InFlight f) {
      return new View(transferId, f.request(), f.held() ? Status.HELD : Status.PENDING, f.creditRefusal(), null,
          f.steps(), f.initiatedAt(), null, f.expiresAt(), f.postAmount());
    }
    var f = (Finished) state;
    return new View(transferId, f.request(), f.status(), f.detail(), f.rejection(), f.steps(), f.initiatedAt(),
        f.finishedAt(), f.expiresAt(), f.postedAmount());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(NoTransfer.class)
        .onEvent(Requested.class, (state, e) ->
            new InFlight(e.request(), e.initiatedAt(), List.of(new Step("requested", e.initiatedAt())), null));
    builder.forStateType(InFlight.class)
        .onEvent(Held.class, (state, e) -> state.with(withStep(state.steps(), "held", e.heldAt()), null,
            e.expiresAt(), null, null))
        .onEvent(PostRequested.class, (state, e) -> state.with(withStep(state.steps(), "post requested", e.at()),
            null, state.expiresAt(), e.amount(), null))
        .onEvent(VoidRequested.class, (state, e) -> state.with(
            withStep(state.steps(), e.expired() ? "expired" : "void requested", e.at()), null, state.expiresAt(),
            null, true))
        .onEvent(Voided.class, (state, e) -> finished(state, withStep(state.steps(), "released", e.releasedAt()),
            e.expired() ? Status.EXPIRED : Status.VOIDED, null, null, e.at()))
        .onEvent(CreditRefused.class, (state, e) -> state.with(
            withStep(withStep(state.steps(), "debited", e.debitedAt()), "credit refused", e.at()), e.reason(),
            state.expiresAt(), state.postAmount(), null))
        .onEvent(Completed.class, (state, e) -> finished(state,
            withStep(withStep(state.steps(), "debited", e.debitedAt()), "credited", e.creditedAt()),
            Status.COMPLETED, null, null, e.at()))
        .onEvent(Failed.class, (state, e) -> finished(state, withStep(state.steps(), "refused", e.at()),
            Status.FAILED, e.rejection().detail(), e.rejection(), e.at()))
        .onEvent(Compensated.class, (state, e) -> finished(state, withStep(state.steps(), "refunded", e.refundedAt()),
            Status.COMPENSATED, state.creditRefusal(), null, e.at()))
        .onEvent(Parked.class, (state, e) -> finished(state, withStep(state.steps(), "parked", e.at()),
            Status.PARKED, e.reason(), null, e.at()));
    return builder.build();
  }

  private static Finished finished(
      InFlight state, List<Step> steps, Status status, String detail, Rejection rejection, Instant at) {
    return new Finished(state.request(), state.initiatedAt(), steps, status, detail, rejection, at,
        state.expiresAt(), state.postAmount());
  }
}
