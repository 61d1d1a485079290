package io.plaza.ledger;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.GroupCommit;
import io.plaza.platform.GroupCommit.Decision;
import io.plaza.platform.GroupCommittedBehavior;
import io.plaza.platform.Metrics;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * A wallet account: one sharded event-sourced entity per account. Balances are integer minor units of one
 * ISO-4217 currency; only the owner may see or move the money; every deposit and withdrawal carries an operation id
 * (the client's Idempotency-Key) so a retried request never applies twice.
 */
public final class LedgerAccount
    extends GroupCommittedBehavior<LedgerAccount.Command, LedgerAccount.Request, LedgerAccount.Event, LedgerAccount.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "LedgerAccount");

  /**
   * Fixed forever once events are written (eventsByTag has no re-tagging): 8 lets each projection run as 8 parallel
   * instances, enough for clusters up to 8 nodes per read model without idle streams polling Cassandra on a small
   * one.
   */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> "ledger-account-" + i).toList();

  public static String tagFor(String accountId) {
    return TAGS.get(Math.floorMod(accountId.hashCode(), TAG_COUNT));
  }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** A command from outside the entity: answered once its event (if any) is persisted. */
  public sealed interface Request extends Command {
    ActorRef<Reply> replyTo();
  }

  /** Local only: the requests that queued while the previous write was in flight ({@link GroupCommit}). */
  record Batch(List<Request> requests) implements Command, GroupCommittedBehavior.Batch<Request> {}

  /** Local only: the entity's note to itself that a batch is written or its recovery completed. */
  record BatchWritten() implements Command, GroupCommit.Written {}

  public record Open(String requester, String currency, long overdraftLimit, ActorRef<Reply> replyTo)
      implements Request {}

  public record Deposit(String requester, long amount, String operationId, ActorRef<Reply> replyTo)
      implements Request {}

  public record Withdraw(String requester, long amount, String operationId, ActorRef<Reply> replyTo)
      implements Request {}

  public record Get(String requester, ActorRef<Reply> replyTo) implements Request {}

  /** Closes an account whose balance is zero: no more deposits, debits or credits (refunds still land). */
  public record Close(String requester, ActorRef<Reply> replyTo) implements Request {}

  /** Public facts (currency, open or closed) for anyone who wants to pay into the account. */
  public record Describe(ActorRef<Reply> replyTo) implements Request {}

  // Transfer legs, sent by the Transfer and TransferBatch sagas. Each is idempotent by transfer id. {@code retry}: the
  // saga may have sent this leg before (a lost answer, a restart); only then can a leg the account does not remember
  // have been applied and forgotten, which {@code initiatedAt} bounds (see OpenAccount.forgottenUpTo). A first attempt
  // cannot have been applied before, so busy accounts that forget fast never have to refuse to guess about it. The
  // shorter constructors assume a retry, the safe side.

  public record Debit(
      String transferId, String requester, String counterparty, long amount, String currency, Instant initiatedAt,
      boolean retry, ActorRef<Reply> replyTo)
      implements Request {
    public Debit(String transferId, String requester, String counterparty, long amount, String currency,
        Instant initiatedAt, ActorRef<Reply> replyTo) {
      this(transferId, requester, counterparty, amount, currency, initiatedAt, true, replyTo);
    }
  }

  public record Credit(
      String transferId, String counterparty, long amount, String currency, Instant initiatedAt, boolean retry,
      ActorRef<Reply> replyTo)
      implements Request {
    public Credit(String transferId, String counterparty, long amount, String currency, Instant initiatedAt,
        ActorRef<Reply> replyTo) {
      this(transferId, counterparty, amount, currency, initiatedAt, true, replyTo);
    }
  }

  /**
   * Reserves {@code amount} for a pending transfer: the balance stays, the available balance (balance minus holds)
   * drops. Refused like a debit would be.
   */
  public record Hold(
      String transferId, String requester, String counterparty, long amount, String currency, Instant initiatedAt,
      boolean retry, ActorRef<Reply> replyTo)
      implements Request {
    public Hold(String transferId, String requester, String counterparty, long amount, String currency,
        Instant initiatedAt, ActorRef<Reply> replyTo) {
      this(transferId, requester, counterparty, amount, currency, initiatedAt, true, replyTo);
    }
  }

  /** Turns a hold into the transfer's debit of {@code amount} (at most the held amount); the rest is released. */
  public record Capture(
      String transferId, String counterparty, long amount, Instant initiatedAt, boolean retry,
      ActorRef<Reply> replyTo)
      implements Request {
    public Capture(String transferId, String counterparty, long amount, Instant initiatedAt,
        ActorRef<Reply> replyTo) {
      this(transferId, counterparty, amount, initiatedAt, true, replyTo);
    }
  }

  /** Releases a hold without moving money (void or expiry). */
  public record Release(String transferId, Instant initiatedAt, boolean retry, ActorRef<Reply> replyTo)
      implements Request {
    public Release(String transferId, Instant initiatedAt, ActorRef<Reply> replyTo) {
      this(transferId, initiatedAt, true, replyTo);
    }
  }

  /**
   * Announces a credit of a linked batch: refused like a credit would be (closed, other currency), else remembered so
   * the credit itself can no longer be refused: the account cannot be closed while credits are expected.
   */
  public record ExpectCredit(
      String transferId, String counterparty, long amount, String currency, Instant initiatedAt, boolean retry,
      ActorRef<Reply> replyTo)
      implements Request {
    public ExpectCredit(String transferId, String counterparty, long amount, String currency, Instant initiatedAt,
        ActorRef<Reply> replyTo) {
      this(transferId, counterparty, amount, currency, initiatedAt, true, replyTo);
    }
  }

  /** Withdraws an expected credit (its batch was aborted). Idempotent. */
  public record CancelExpectedCredit(String transferId, Instant initiatedAt, ActorRef<Reply> replyTo)
      implements Request {}

  /**
   * A transfer this account coordinates as its source, with no saga entity of its own: the debit is persisted with
   * the request (the transfer's idempotency record, kept like a client key), the credit is delivered to
   * {@code request.to()} at least once — re-sent after a crash until the destination answers, idempotent there by
   * transfer id — and its answer settles the transfer or refunds the debit. Answered with {@link TransferAnswer} once
   * the outcome is persisted, or PENDING after {@code completion-wait}.
   *
   * <p>{@code precheckRefusal}: the HTTP layer's pre-check of the destination refused the transfer; answered unless
   * this is a retry of a transfer already made (then the transfer's own answer counts) or the source refuses first. {@code sagaChecked}: the caller made sure no saga ({@link Transfer}) holds this
   * id, which the account must ask for when it may have forgotten a saga's debit ({@link UseSaga}).
   */
  public record Send(
      String transferId, Transfer.Request request, Rejection precheckRefusal, boolean sagaChecked,
      ActorRef<Reply> replyTo)
      implements Request {}

  /** Local only: the destination's answer to a credit this account delivers (or the failure to get one). */
  record CreditAnswered(String transferId, Reply reply, Throwable failure) implements Request {
    @Override
    public ActorRef<Reply> replyTo() {
      return null;
    }
  }

  /** Local only: deliver an unanswered credit again. */
  record ResendCredit(String transferId) implements Request {
    @Override
    public ActorRef<Reply> replyTo() {
      return null;
    }
  }

  /** Local only: the completion wait of a transfer is over: tell its waiting callers it is PENDING. */
  record AnswerPending(String transferId) implements Request {
    @Override
    public ActorRef<Reply> replyTo() {
      return null;
    }
  }

  /** Local only: write the settlement that waits for this account's next write ({@link #riders}). */
  record Settle(String transferId) implements Request {
    @Override
    public ActorRef<Reply> replyTo() {
      return null;
    }
  }

  /** Local only: the settlement delay is over: write the settlements still waiting, alone if need be. */
  record SettleWaiting() implements Request {
    @Override
    public ActorRef<Reply> replyTo() {
      return null;
    }
  }

  /** Gives back a debit whose credit could not happen. Never refused, also not on a closed account. */
  public record Refund(String transferId, long amount, Instant initiatedAt, boolean retry, ActorRef<Reply> replyTo)
      implements Request {
    public Refund(String transferId, long amount, Instant initiatedAt, ActorRef<Reply> replyTo) {
      this(transferId, amount, initiatedAt, true, replyTo);
    }
  }

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  /** The account as it is after the command. */
  public record AccountReply(Summary account) implements Reply {}

  /** A deposit or withdrawal took effect; {@code replayed} when it had already taken effect under the same id. */
  public record MovementReply(Summary account, Operation operation, boolean replayed) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  public record AccountInfo(String accountId, String currency, boolean closed) implements Reply {}

  /** Where a transfer this account coordinates stands ({@link Send}); {@code replayed}: the key was used before. */
  public record TransferAnswer(Transfer.View transfer, boolean replayed) implements Reply {}

  /**
   * The account may have forgotten a debit this id had as a saga transfer (made before accounts coordinated
   * transfers): ask the {@link Transfer} entity, and come back with {@code sagaChecked} if it knows nothing.
   */
  public record UseSaga(String transferId) implements Reply {}

  /**
   * The leg is not remembered, but the account has forgotten legs as recent as this transfer: it cannot tell whether
   * the leg was applied, so it refuses to guess. The saga parks the transfer for review.
   */
  public record LegUnknown(String transferId) implements Reply {}

  /** {@code held}: reserved by pending transfers; the available balance is {@code balance - held}. */
  public record Summary(
      String accountId, String owner, String currency, long overdraftLimit, long balance, long held, long version,
      Instant openedAt, boolean closed)
      implements CborSerializable {}

  // ---- Events -----------------------------------------------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String accountId();
  }

  public record AccountOpened(
      String accountId, String owner, String currency, long overdraftLimit, Instant openedAt)
      implements Event {}

  public record AccountClosed(String accountId, Instant closedAt) implements Event {}

  /** Every event that changes the balance, with the balance after it. */
  public sealed interface Movement extends Event {
    String operationId();

    long amount();

    long balanceAfter();

    Instant occurredAt();

    Operation.Kind kind();

    /** The transfer this movement is a leg of; null for deposits and withdrawals. */
    default String transferId() {
      return null;
    }

    /** The other account of a transfer leg; null when there is none. */
    default String counterparty() {
      return null;
    }
  }

  public record FundsDeposited(
      String accountId, String operationId, long amount, long balanceAfter, Instant occurredAt)
      implements Movement {
    @Override
    public Operation.Kind kind() {
      return Operation.Kind.DEPOSIT;
    }
  }

  public record FundsWithdrawn(
      String accountId, String operationId, long amount, long balanceAfter, Instant occurredAt)
      implements Movement {
    @Override
    public Operation.Kind kind() {
      return Operation.Kind.WITHDRAWAL;
    }
  }

  /**
   * The debit leg of a transfer ({@code operationId} = {@link #legId}). For a captured hold, {@code releasedHold} is the
   * amount the hold had reserved and {@code heldAfter} what stays held on the account; both null for a plain debit.
   */
  public record TransferDebited(
      String accountId, String transferId, String operationId, String counterparty, long amount, long balanceAfter,
      Instant occurredAt, Long releasedHold, Long heldAfter, Transfer.Request request)
      implements Movement {

    /** A saga's debit leg (no request: the saga keeps it). */
    public TransferDebited(String accountId, String transferId, String operationId, String counterparty, long amount,
        long balanceAfter, Instant occurredAt, Long releasedHold, Long heldAfter) {
      this(accountId, transferId, operationId, counterparty, amount, balanceAfter, occurredAt, releasedHold, heldAfter,
          null);
    }

    /** Whether this account coordinates the transfer ({@link Send}); a saga's leg otherwise. */
    public boolean coordinated() {
      return request != null;
    }
    @Override
    public Operation.Kind kind() {
      return Operation.Kind.TRANSFER_DEBIT;
    }
  }

  public record TransferCredited(
      String accountId, String transferId, String operationId, String counterparty, long amount, long balanceAfter,
      Instant occurredAt)
      implements Movement {
    @Override
    public Operation.Kind kind() {
      return Operation.Kind.TRANSFER_CREDIT;
    }
  }

  /**
   * A debit given back because its credit could not happen. {@code creditRefusal}: why the destination refused, set
   * only when this account coordinates the transfer (a saga keeps the reason itself).
   */
  public record TransferRefunded(
      String accountId, String transferId, String operationId, long amount, long balanceAfter, Instant occurredAt,
      String creditRefusal)
      implements Movement {

    public TransferRefunded(String accountId, String transferId, String operationId, long amount, long balanceAfter,
        Instant occurredAt) {
      this(accountId, transferId, operationId, amount, balanceAfter, occurredAt, null);
    }
    @Override
    public Operation.Kind kind() {
      return Operation.Kind.TRANSFER_REFUND;
    }
  }

  /** A pending transfer reserved money; the balance is unchanged, {@code heldAfter} is the account's total held. */
  public record FundsHeld(
      String accountId, String transferId, String operationId, String counterparty, long amount, long heldAfter,
      Instant occurredAt)
      implements Event {}

  /** A hold given up without moving money (the transfer was voided or expired). */
  public record HoldReleased(
      String accountId, String transferId, String operationId, long amount, long heldAfter, Instant occurredAt)
      implements Event {}

  /** A linked batch will credit {@code amount} under {@code transferId}; the account stays open until it does. */
  public record CreditExpected(
      String accountId, String transferId, String operationId, long amount, Instant occurredAt)
      implements Event {}

  public record ExpectedCreditCancelled(
      String accountId, String transferId, String operationId, long amount, Instant occurredAt)
      implements Event {}

  /**
   * The destination applied the credit of a transfer this account coordinates: it is complete. {@code parkedReason}
   * instead: the destination could not tell whether it applied it (an operator must look; the checker lists it).
   */
  public record TransferSettled(
      String accountId, String transferId, Instant creditedAt, String parkedReason, Instant occurredAt)
      implements Event {}

  /** A transfer this account would coordinate, refused (funds, overdraft): final for its key, nothing moved. */
  public record TransferRefused(
      String accountId, String transferId, String operationId, Transfer.Request request, Rejection rejection,
      Instant occurredAt)
      implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record Unopened() implements State {}

  /**
   * {@code recentOperations}: the last N operation ids (client keys and transfer legs) with what they did, oldest
   * first. {@code forgottenUpTo}: the latest time of an operation dropped from it (null: none dropped yet).
   * {@code holds}: the amount each pending transfer holds; {@code expected}: credits announced by linked batches;
   * {@code sending}: transfers this account coordinates whose credit is not answered yet (all three null in
   * snapshots taken before they existed). {@code sagaDebitsForgottenUpTo}: the latest time of a forgotten saga
   * debit ({@link Instant#EPOCH}: none; null, in snapshots from before it was kept: as {@code forgottenUpTo}).
   */
  public record OpenAccount(
      String owner, String currency, long overdraftLimit, long balance, long version, Instant openedAt,
      Map<String, Operation> recentOperations, boolean closed, Instant forgottenUpTo, Map<String, Long> holds,
      Map<String, Long> expected, Map<String, Outgoing> sending, Instant sagaDebitsForgottenUpTo)
      implements State {

    public OpenAccount {
      holds = holds == null ? Map.of() : holds;
      expected = expected == null ? Map.of() : expected;
      sending = sending == null ? Map.of() : sending;
    }

    static OpenAccount opened(AccountOpened e) {
      return new OpenAccount(e.owner(), e.currency(), e.overdraftLimit(), 0, 1, e.openedAt(), Map.of(), false, null,
          Map.of(), Map.of(), Map.of(), Instant.EPOCH);
    }

    OpenAccount withExpected(String transferId, Long amount) {
      return new OpenAccount(owner, currency, overdraftLimit, balance, version, openedAt, recentOperations, closed,
          forgottenUpTo, holds, with(expected, transferId, amount), sending, sagaDebitsForgottenUpTo);
    }

    OpenAccount withSending(String transferId, Outgoing outgoing) {
      return new OpenAccount(owner, currency, overdraftLimit, balance, version, openedAt, recentOperations, closed,
          forgottenUpTo, holds, expected, with(sending, transferId, outgoing), sagaDebitsForgottenUpTo);
    }

    private static <V> Map<String, V> with(Map<String, V> map, String key, V value) {
      var copy = new LinkedHashMap<>(map);
      if (value == null) copy.remove(key);
      else copy.put(key, value);
      return Collections.unmodifiableMap(copy);
    }

    long held() {
      return holds.values().stream().mapToLong(Long::longValue).sum();
    }

    long available() {
      return balance - held();
    }

    /**
     * Remembers {@code op}, then forgets the oldest operations beyond {@code memory.operations()} — except a client's
     * key younger than {@code memory.keyRetention()} (a deposit's, a withdrawal's, a transfer's this account
     * coordinates): it must keep working for that long, however busy the account (age is measured against the new
     * operation's time, so replays agree).
     */
    OpenAccount withOperation(Operation op, Memory memory) {
      // Copy on write: state must stay immutable because snapshots are serialized asynchronously.
      var ops = new LinkedHashMap<String, Operation>(recentOperations);
      ops.put(op.operationId(), op);
      var forgotten = forgottenUpTo;
      var sagaDebitsForgotten = sagaDebitsForgottenUpTo;
      var keepKeysFrom = op.occurredAt() == null ? null : op.occurredAt().minus(memory.keyRetention());
      var it = ops.values().iterator();
      while (ops.size() > memory.operations() && it.hasNext()) {
        var candidate = it.next();
        if (candidate == op) break; // never the operation being remembered
        if (candidate.clientKey() && keepKeysFrom != null && candidate.occurredAt() != null
            && candidate.occurredAt().isAfter(keepKeysFrom)) {
          continue;
        }
        if (candidate.occurredAt() != null && (forgotten == null || candidate.occurredAt().isAfter(forgotten))) {
          forgotten = candidate.occurredAt();
        }
        if (candidate.kind() == Operation.Kind.TRANSFER_DEBIT && candidate.request() == null
            && candidate.occurredAt() != null && sagaDebitsForgotten != null
            && candidate.occurredAt().isAfter(sagaDebitsForgotten)) {
          sagaDebitsForgotten = candidate.occurredAt();
        }
        it.remove();
      }
      return new OpenAccount(owner, currency, overdraftLimit, op.balanceAfter(), version + 1, openedAt,
          Collections.unmodifiableMap(ops), closed, forgotten, holds, expected, sending, sagaDebitsForgotten);
    }

    OpenAccount withHold(String transferId, Long amount) {
      return new OpenAccount(owner, currency, overdraftLimit, balance, version, openedAt, recentOperations, closed,
          forgottenUpTo, with(holds, transferId, amount), expected, sending, sagaDebitsForgottenUpTo);
    }

    OpenAccount closedNow() {
      return new OpenAccount(owner, currency, overdraftLimit, balance, version + 1, openedAt, recentOperations, true,
          forgottenUpTo, holds, expected, sending, sagaDebitsForgottenUpTo);
    }

    /** Could a leg of a transfer started at {@code initiatedAt} have been applied and forgotten since? */
    boolean mayHaveForgotten(Instant initiatedAt) {
      return forgottenUpTo != null && !initiatedAt.minus(CLOCK_SKEW).isAfter(forgottenUpTo);
    }

    /**
     * Could a saga have debited a transfer with this client key and the account forgotten it? Only for keys younger
     * than the retention (a client retries within it), and only while saga debits are being forgotten.
     */
    boolean mayHaveForgottenSagaDebit(Instant now, Memory memory) {
      var watermark = sagaDebitsForgottenUpTo != null ? sagaDebitsForgottenUpTo : forgottenUpTo;
      return watermark != null && watermark.isAfter(now.minus(memory.keyRetention()).minus(CLOCK_SKEW));
    }
  }

  /** A transfer this account coordinates whose credit is being delivered. */
  public record Outgoing(Transfer.Request request, Instant debitedAt) implements CborSerializable {}

  /** What a remembered operation did, to answer its retries identically. */
  /**
   * {@code request}: for the debit of a transfer this account coordinates, what the client asked (a retry must ask
   * the same); {@code refusal}: why it was refused, when it was (nothing moved then).
   */
  public record Operation(String operationId, Kind kind, long amount, long balanceAfter, Instant occurredAt,
      Transfer.Request request, Rejection refusal)
      implements CborSerializable {

    public Operation(String operationId, Kind kind, long amount, long balanceAfter, Instant occurredAt) {
      this(operationId, kind, amount, balanceAfter, occurredAt, null, null);
    }

    /** A client's key, kept for the key retention: a deposit's, a withdrawal's, a coordinated transfer's. */
    boolean clientKey() {
      return kind == Kind.DEPOSIT || kind == Kind.WITHDRAWAL || request != null;
    }

    /** HOLD, HOLD_RELEASE, EXPECT and EXPECT_CANCEL do not change the balance: balanceAfter is the balance. */
    public enum Kind {
      DEPOSIT, WITHDRAWAL, TRANSFER_DEBIT, TRANSFER_CREDIT, TRANSFER_REFUND, HOLD, HOLD_RELEASE, EXPECT, EXPECT_CANCEL
    }
  }

  /**
   * What an account remembers: at least its last {@code operations} operations, and every client Idempotency-Key of
   * the last {@code keyRetention}.
   */
  public record Memory(int operations, Duration keyRetention) {
    public static Memory fromConfig(com.typesafe.config.Config ledger) {
      return new Memory(ledger.getInt("remembered-operations"), ledger.getDuration("idempotency-key-retention"));
    }
  }

  /** Tolerated clock difference between the node that starts a transfer and the node that applies its legs. */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

  /**
   * The operation id of a transfer leg. It contains spaces, which client Idempotency-Keys cannot, so a client key can
   * never collide with (or pre-empt) a transfer leg.
   */
  public static String legId(String transferId, Operation.Kind kind) {
    return "transfer " + transferId + " " + kind.name().toLowerCase(java.util.Locale.ROOT);
  }

  // ---- Behavior ---------------------------------------------------------------------------------------------

  /**
   * At most this many requests per journal write: their events go to Cassandra as one unlogged batch into one
   * partition, which must stay under Cassandra's batch size limit (50 KiB by default; an account event is about 300
   * bytes).
   */
  static final int MAX_BATCH = 64;

  public static void init(ActorSystem<?> system, Memory memory, Transfer.Settings transfers) {
    var sharding = ClusterSharding.get(system);
    Transfer.Accounts accounts = (accountId, command) ->
        sharding.entityRefFor(ENTITY_KEY, accountId).ask(command::apply, transfers.legTimeout());
    sharding.init(Metrics.get(system).entity(ENTITY_KEY, Command.class, ctx ->
        create(ctx.getEntityId(), memory, Clock.systemUTC(), accounts, transfers)));
  }

  /** With the default key retention of 24 h. */
  public static Behavior<Command> create(String accountId, int rememberedOperations, Clock clock) {
    return create(accountId, new Memory(rememberedOperations, Duration.ofHours(24)), clock);
  }

  /** An account that cannot reach other accounts: for tests that send no transfer of their own. */
  public static Behavior<Command> create(String accountId, Memory memory, Clock clock) {
    return create(accountId, memory, clock, (id, command) -> java.util.concurrent.CompletableFuture.failedFuture(
        new IllegalStateException("this account reaches no other account")),
        new Transfer.Settings(Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofMillis(200),
            Duration.ofSeconds(10)));
  }

  /** @param accounts how the credits of transfers this account coordinates reach their destination */
  public static Behavior<Command> create(String accountId, Memory memory, Clock clock, Transfer.Accounts accounts,
      Transfer.Settings transfers) {
    return GroupCommit.around(Command.class, requests -> new Batch(requests.stream().map(Request.class::cast).toList()),
        MAX_BATCH, Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
            new LedgerAccount(accountId, memory, clock, ctx, timers, accounts, transfers))));
  }

  private final String accountId;
  private final Memory memory;
  private final Clock clock;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Transfer.Accounts accounts;
  private final Transfer.Settings transfers;
  // In memory only, for the transfers this account coordinates: callers waiting for an outcome, and the backoff of
  // each unanswered credit.
  private final Map<String, OutcomeWaiters<Reply>> waiting = new java.util.HashMap<>();
  private final Map<String, Duration> creditRetry = new java.util.HashMap<>();
  // Settlements of credited transfers waiting to ride along with the next write, and what their callers hear.
  private final Map<String, WaitingSettlement> settlements = new java.util.LinkedHashMap<>();

  private record WaitingSettlement(TransferSettled event, Transfer.View view) {}

  private LedgerAccount(String accountId, Memory memory, Clock clock, ActorContext<Command> ctx,
      TimerScheduler<Command> timers, Transfer.Accounts accounts, Transfer.Settings transfers) {
    super(PersistenceId.of(ENTITY_KEY.name(), accountId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1), Request.class,
        ctx.getSelf(), BatchWritten::new);
    this.accountId = accountId;
    this.memory = memory;
    this.clock = clock;
    this.ctx = ctx;
    this.timers = timers;
    this.accounts = accounts;
    this.transfers = transfers;
  }

  @Override
  public State emptyState() {
    return new Unopened();
  }

  @Override
  public String journalPluginId() {
    return io.plaza.platform.Cassandra.ledgerJournal(ctx.getSystem());
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tagFor(accountId));
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  /** A crash or a move left credits unanswered: deliver them again (the destination applies each once). */
  @Override
  protected void recovered(State state) {
    if (state instanceof OpenAccount open) open.sending().forEach((transferId, outgoing) -> deliver(transferId, outgoing, true));
  }

  /** The waiting settlements ride along with any write of this account (or go alone when their delay is over). */
  @Override
  protected List<Request> riders() {
    if (settlements.isEmpty()) return List.of();
    return settlements.keySet().stream().<Request>map(Settle::new).toList();
  }

  @Override
  protected boolean flushesRiders(Request request) {
    return request instanceof SettleWaiting;
  }

  /** Every request comes in a {@link Batch} of those that queued while the previous write was in flight. */
  @Override
  protected Decision<Event, State> decide(State state, Request request) {
    if (!(state instanceof OpenAccount open)) {
      if (request instanceof Open cmd) return open(cmd);
      return request.replyTo() == null ? nothing() : unknown(request.replyTo());
    }
    if (request instanceof Send cmd) return send(open, cmd);
    if (request instanceof CreditAnswered cmd) return creditAnswered(open, cmd);
    if (request instanceof Settle cmd) return settle(open, cmd.transferId());
    if (request instanceof SettleWaiting) return nothing(); // its batch writes the riders
    if (request instanceof ResendCredit cmd) {
      var outgoing = open.sending().get(cmd.transferId());
      if (outgoing != null && !settlements.containsKey(cmd.transferId())) deliver(cmd.transferId(), outgoing, true);
      return nothing();
    }
    if (request instanceof AnswerPending cmd) {
      var outgoing = open.sending().get(cmd.transferId());
      if (outgoing != null) answerWaiting(cmd.transferId(), pendingView(cmd.transferId(), outgoing));
      return nothing();
    }
    if (request instanceof Deposit cmd) return deposit(open, cmd);
    if (request instanceof Debit cmd) return debit(open, cmd);
    if (request instanceof Credit cmd) return credit(open, cmd);
    if (request instanceof Describe cmd) {
      return answer(cmd.replyTo(), new AccountInfo(accountId, open.currency(), open.closed()));
    }
    if (request instanceof Get cmd) {
      return owned(open, cmd.requester())
          ? answer(cmd.replyTo(), new AccountReply(summary(open)))
          : forbidden(cmd.replyTo());
    }
    if (request instanceof Withdraw cmd) return withdraw(open, cmd);
    if (request instanceof Refund cmd) return refund(open, cmd);
    if (request instanceof Hold cmd) return hold(open, cmd);
    if (request instanceof Capture cmd) return capture(open, cmd);
    if (request instanceof Release cmd) return release(open, cmd);
    if (request instanceof ExpectCredit cmd) return expectCredit(open, cmd);
    if (request instanceof CancelExpectedCredit cmd) return cancelExpectedCredit(open, cmd);
    if (request instanceof Close cmd) return close(open, cmd);
    if (request instanceof Open cmd) return reopen(open, cmd);
    throw new IllegalArgumentException("unhandled request " + request.getClass().getName());
  }

  // What one request does: at most one event, and its answer, computed from the state after that event.
  private static Decision<Event, State> persist(Event event, ActorRef<Reply> replyTo,
      Function<OpenAccount, Reply> reply) {
    return Decision.persist(event, replyTo, state -> reply.apply((OpenAccount) state));
  }

  private static Decision<Event, State> answer(ActorRef<Reply> replyTo, Reply reply) {
    return Decision.answer(replyTo, reply);
  }

  private Decision<Event, State> open(Open cmd) {
    if (!Currencies.isKnown(cmd.currency())) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.UNKNOWN_CURRENCY,
          "unknown currency '" + cmd.currency() + "'"));
    }
    if (cmd.overdraftLimit() < 0) {
      return reject(cmd.replyTo(), Rejection.badRequest("overdraftLimit must not be negative"));
    }
    var opened = new AccountOpened(accountId, cmd.requester(), cmd.currency(), cmd.overdraftLimit(), clock.instant());
    return persist(opened, cmd.replyTo(), s -> new AccountReply(summary(s)));
  }

  /** Opening again with the same owner and terms is a retry (same Idempotency-Key): answer with the account. */
  private Decision<Event, State> reopen(OpenAccount state, Open cmd) {
    if (state.owner().equals(cmd.requester()) && state.currency().equals(cmd.currency())
        && state.overdraftLimit() == cmd.overdraftLimit()) {
      return answer(cmd.replyTo(), new AccountReply(summary(state)));
    }
    return reject(cmd.replyTo(), Rejection.conflict(LedgerProblem.ACCOUNT_EXISTS,
        "account " + accountId + " already exists with other terms"));
  }

  private Decision<Event, State> deposit(OpenAccount state, Deposit cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    var earlier = replayOf(state, cmd.operationId(), Operation.Kind.DEPOSIT, cmd.amount(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (state.closed()) return closed(cmd.replyTo());
    if (cmd.amount() <= 0) return reject(cmd.replyTo(), Rejection.badRequest("amount must be positive"));
    long after;
    try {
      after = Math.addExact(state.balance(), cmd.amount());
    } catch (ArithmeticException overflow) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.BALANCE_OVERFLOW,
          "deposit would overflow the balance"));
    }
    var event = new FundsDeposited(accountId, cmd.operationId(), cmd.amount(), after, clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, cmd.operationId()));
  }

  private Decision<Event, State> withdraw(OpenAccount state, Withdraw cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    var earlier = replayOf(state, cmd.operationId(), Operation.Kind.WITHDRAWAL, cmd.amount(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (cmd.amount() <= 0) return reject(cmd.replyTo(), Rejection.badRequest("amount must be positive"));
    var refusal = overdraftRefusal(state, cmd.amount());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var event = new FundsWithdrawn(accountId, cmd.operationId(), cmd.amount(), state.balance() - cmd.amount(),
        clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, cmd.operationId()));
  }

  /** Why taking {@code amount} out is refused (overflow, or below the overdraft limit), or null when it is fine. */
  private static Rejection overdraftRefusal(OpenAccount state, long amount) {
    long after;
    try {
      after = Math.subtractExact(state.available(), amount);
    } catch (ArithmeticException overflow) {
      return Rejection.unprocessable(LedgerProblem.BALANCE_OVERFLOW, "withdrawal would overflow the balance");
    }
    if (after >= -state.overdraftLimit()) return null;
    var held = state.held() == 0 ? "" : " (of which " + state.held() + " held by pending transfers)";
    return Rejection.unprocessable(LedgerProblem.INSUFFICIENT_FUNDS, state.overdraftLimit() == 0
        ? "insufficient funds: balance " + state.balance() + held + ", requested " + amount
        : "overdraft limit " + state.overdraftLimit() + " exceeded: balance " + state.balance() + held
            + ", requested " + amount);
  }

  private Decision<Event, State> close(OpenAccount state, Close cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    if (state.closed()) return answer(cmd.replyTo(), new AccountReply(summary(state)));
    if (state.balance() != 0) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.ACCOUNT_NOT_SETTLED,
          "only an account with balance 0 can be closed; balance is " + state.balance()));
    }
    if (!state.expected().isEmpty()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.ACCOUNT_NOT_SETTLED,
          "the account expects " + state.expected().size() + " credit(s) from linked transfers; retry shortly"));
    }
    if (!state.holds().isEmpty()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.ACCOUNT_NOT_SETTLED,
          "the account has " + state.holds().size() + " pending transfer(s) holding funds; post or void them first"));
    }
    return persist(new AccountClosed(accountId, clock.instant()), cmd.replyTo(), s -> new AccountReply(summary(s)));
  }

  private Decision<Event, State> debit(OpenAccount state, Debit cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.TRANSFER_DEBIT);
    var earlier = legReplay(state, id, Operation.Kind.TRANSFER_DEBIT, cmd.amount(), cmd.transferId(),
        cmd.initiatedAt(), cmd.retry(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    if (state.closed()) return closed(cmd.replyTo());
    var refusal = legRefusal(state, cmd.amount(), cmd.currency());
    if (refusal == null) refusal = overdraftRefusal(state, cmd.amount());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var event = new TransferDebited(accountId, cmd.transferId(), id, cmd.counterparty(), cmd.amount(),
        state.balance() - cmd.amount(), clock.instant(), null, null);
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  private Decision<Event, State> credit(OpenAccount state, Credit cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.TRANSFER_CREDIT);
    var earlier = legReplay(state, id, Operation.Kind.TRANSFER_CREDIT, cmd.amount(), cmd.transferId(),
        cmd.initiatedAt(), cmd.retry(), cmd.replyTo());
    if (earlier != null) return earlier;
    // An expected credit was checked when it was announced, and the account has stayed open since.
    if (!state.expected().containsKey(cmd.transferId())) {
      if (state.closed()) return closed(cmd.replyTo());
      var refusal = legRefusal(state, cmd.amount(), cmd.currency());
      if (refusal != null) return reject(cmd.replyTo(), refusal);
    }
    long after;
    try {
      after = Math.addExact(state.balance(), cmd.amount());
    } catch (ArithmeticException overflow) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.BALANCE_OVERFLOW,
          "credit would overflow the balance"));
    }
    var event = new TransferCredited(accountId, cmd.transferId(), id, cmd.counterparty(), cmd.amount(), after,
        clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  private Decision<Event, State> hold(OpenAccount state, Hold cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.HOLD);
    if (state.holds().containsKey(cmd.transferId())) return stillPending(state, id, Operation.Kind.HOLD, cmd.replyTo());
    var earlier = legReplay(state, id, Operation.Kind.HOLD, cmd.amount(), cmd.transferId(), cmd.initiatedAt(),
        cmd.retry(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    if (state.closed()) return closed(cmd.replyTo());
    var refusal = legRefusal(state, cmd.amount(), cmd.currency());
    if (refusal == null) refusal = overdraftRefusal(state, cmd.amount());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var event = new FundsHeld(accountId, cmd.transferId(), id, cmd.counterparty(), cmd.amount(),
        state.held() + cmd.amount(), clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  /**
   * The debit of a pending transfer: takes {@code amount} (at most what is held) and releases the whole hold. Never
   * refused for funds or a closed account: the hold reserved the money.
   */
  private Decision<Event, State> capture(OpenAccount state, Capture cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.TRANSFER_DEBIT);
    var held = state.holds().get(cmd.transferId());
    if (held == null) return holdGone(state, cmd.transferId(), id, Operation.Kind.TRANSFER_DEBIT, cmd.amount(),
        cmd.initiatedAt(), cmd.retry(), cmd.replyTo());
    if (cmd.amount() <= 0 || cmd.amount() > held) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.POST_AMOUNT_INVALID,
          "a pending transfer can post at most the " + held + " it holds, not " + cmd.amount()));
    }
    var event = new TransferDebited(accountId, cmd.transferId(), id, cmd.counterparty(), cmd.amount(),
        state.balance() - cmd.amount(), clock.instant(), held, state.held() - held);
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  private Decision<Event, State> release(OpenAccount state, Release cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.HOLD_RELEASE);
    var held = state.holds().get(cmd.transferId());
    if (held == null) return holdGone(state, cmd.transferId(), id, Operation.Kind.HOLD_RELEASE, null,
        cmd.initiatedAt(), cmd.retry(), cmd.replyTo());
    var event = new HoldReleased(accountId, cmd.transferId(), id, held, state.held() - held, clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  private Decision<Event, State> expectCredit(OpenAccount state, ExpectCredit cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.EXPECT);
    if (state.expected().containsKey(cmd.transferId())) {
      return stillPending(state, id, Operation.Kind.EXPECT, cmd.replyTo());
    }
    var earlier = legReplay(state, id, Operation.Kind.EXPECT, cmd.amount(), cmd.transferId(), cmd.initiatedAt(),
        cmd.retry(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (state.closed()) return closed(cmd.replyTo());
    var refusal = legRefusal(state, cmd.amount(), cmd.currency());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var event = new CreditExpected(accountId, cmd.transferId(), id, cmd.amount(), clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  /** A hold or an expected credit that is still in place answers its retry, even once its operation is forgotten. */
  private Decision<Event, State> stillPending(OpenAccount state, String legId, Operation.Kind kind,
      ActorRef<Reply> replyTo) {
    var op = state.recentOperations().get(legId);
    if (op == null) op = new Operation(legId, kind, 0, state.balance(), null);
    return answer(replyTo, new MovementReply(summary(state), op, true));
  }

  /** Idempotent: cancelling an expectation that is gone (or never came) answers without an event. */
  private Decision<Event, State> cancelExpectedCredit(OpenAccount state, CancelExpectedCredit cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.EXPECT_CANCEL);
    var expected = state.expected().get(cmd.transferId());
    if (expected == null) {
      var earlier = state.recentOperations().get(id);
      var op = earlier != null ? earlier
          : new Operation(id, Operation.Kind.EXPECT_CANCEL, 0, state.balance(), clock.instant());
      return answer(cmd.replyTo(), new MovementReply(summary(state), op, true));
    }
    var event = new ExpectedCreditCancelled(accountId, cmd.transferId(), id, expected, clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  /**
   * A capture or release whose hold is not there: answered as before if this very leg already happened, refused if
   * the hold ended otherwise (or never existed), unknown if the account may have forgotten.
   */
  private Decision<Event, State> holdGone(OpenAccount state, String transferId, String legId, Operation.Kind kind,
      Long amount, Instant initiatedAt, boolean retry, ActorRef<Reply> replyTo) {
    var earlier = state.recentOperations().get(legId);
    if (earlier != null) {
      if (amount == null || earlier.amount() == amount) {
        return answer(replyTo, new MovementReply(summary(state), earlier, true));
      }
      return reject(replyTo, Rejection.conflict(LedgerProblem.HOLD_SETTLED,
          "transfer " + transferId + " was already posted with amount "
          + earlier.amount()));
    }
    var capture = kind == Operation.Kind.TRANSFER_DEBIT;
    var other = legId(transferId, capture ? Operation.Kind.HOLD_RELEASE : Operation.Kind.TRANSFER_DEBIT);
    if (state.recentOperations().containsKey(other)) {
      return reject(replyTo, Rejection.conflict(LedgerProblem.HOLD_SETTLED,
          "the hold of transfer " + transferId + " was already "
          + (capture ? "released" : "posted")));
    }
    if (retry && state.mayHaveForgotten(initiatedAt)) return answer(replyTo, new LegUnknown(transferId));
    return reject(replyTo, Rejection.notFound(LedgerProblem.TRANSFER_NOT_FOUND,
        "no hold of transfer " + transferId + " on account " + accountId));
  }

  // ---- Transfers this account coordinates (Send) ---------------------------------------------------------------

  private Decision<Event, State> send(OpenAccount state, Send cmd) {
    var r = cmd.request();
    var id = legId(cmd.transferId(), Operation.Kind.TRANSFER_DEBIT);
    var earlier = state.recentOperations().get(id);
    if (earlier != null) {
      if (earlier.request() == null) return answer(cmd.replyTo(), new UseSaga(cmd.transferId()));
      return sendReplay(state, cmd, earlier);
    }
    if (!cmd.sagaChecked() && state.mayHaveForgottenSagaDebit(clock.instant(), memory)) {
      return answer(cmd.replyTo(), new UseSaga(cmd.transferId()));
    }
    // Refusals that leave no trace, as the pre-check's: the same key may be used again once the cause is gone. The
    // source's own come first, worded as AccountPrecheck words them.
    if (!owned(state, r.requester())) return forbidden(cmd.replyTo());
    if (state.closed()) return closed(cmd.replyTo());
    if (r.amount() <= 0) return reject(cmd.replyTo(), Rejection.badRequest("amount must be positive"));
    if (!state.currency().equals(r.currency())) {
      return reject(cmd.replyTo(), Rejection.unprocessable(LedgerProblem.CURRENCY_MISMATCH,
          "currency " + r.currency() + " does not match account "
          + accountId + "'s " + state.currency()));
    }
    if (cmd.precheckRefusal() != null) return reject(cmd.replyTo(), cmd.precheckRefusal());
    var now = clock.instant();
    var overdraft = overdraftRefusal(state, r.amount());
    if (overdraft != null) {
      // Final for the key, as a saga's refused debit is: a retry gets the same answer even once money came in.
      var refused = new TransferRefused(accountId, cmd.transferId(), id, r, overdraft, now);
      return persist(refused, cmd.replyTo(), s -> new TransferAnswer(refusedView(cmd.transferId(), r, overdraft, now),
          false));
    }
    var debited = new TransferDebited(accountId, cmd.transferId(), id, r.to(), r.amount(),
        state.balance() - r.amount(), now, null, null, r);
    return new Decision<>(debited, s -> () -> {
      waitFor(cmd.transferId()).original(cmd.replyTo());
      timers.startSingleTimer(new AnswerPending(cmd.transferId()), transfers.completionWait());
      if (transfers.pauseBeforeCredit().isZero()) {
        deliver(cmd.transferId(), ((OpenAccount) s).sending().get(cmd.transferId()), false);
      } else {
        timers.startSingleTimer(new ResendCredit(cmd.transferId()), transfers.pauseBeforeCredit()); // tests only
      }
    });
  }

  /** The same key again: the same request is answered with where its transfer stands, another one is refused. */
  private Decision<Event, State> sendReplay(OpenAccount state, Send cmd, Operation debit) {
    if (!debit.request().equals(cmd.request())) {
      return reject(cmd.replyTo(), Rejection.conflict(LedgerProblem.IDEMPOTENCY_KEY_REUSED,
          "this Idempotency-Key was already used for a different transfer request"));
    }
    var transferId = cmd.transferId();
    if (debit.refusal() != null) {
      return answer(cmd.replyTo(), new TransferAnswer(
          refusedView(transferId, debit.request(), debit.refusal(), debit.occurredAt()), true));
    }
    var waitingSettlement = settlements.get(transferId);
    if (waitingSettlement != null) return answer(cmd.replyTo(), new TransferAnswer(waitingSettlement.view(), true));
    var outgoing = state.sending().get(transferId);
    if (outgoing != null) {
      // Still delivering: wait with the original caller (answered as a replay), or hear PENDING after the wait.
      return new Decision<>(null, s -> () -> {
        waitFor(transferId).replay(cmd.replyTo());
        if (!timers.isTimerActive(new AnswerPending(transferId))) {
          timers.startSingleTimer(new AnswerPending(transferId), transfers.completionWait());
        }
      });
    }
    var refund = state.recentOperations().get(legId(transferId, Operation.Kind.TRANSFER_REFUND));
    var settle = state.recentOperations().get(settleId(transferId));
    var view = refund != null ? compensatedView(transferId, debit.request(), debit.occurredAt(),
            refund.refusal() == null ? null : refund.refusal().detail(), refund.occurredAt())
        : settle != null && settle.refusal() != null
            ? parkedView(transferId, debit.request(), debit.occurredAt(), settle.refusal().detail(), settle.occurredAt())
            : completedView(transferId, debit.request(), debit.occurredAt(),
                settle != null ? settle.occurredAt() : debit.occurredAt());
    return answer(cmd.replyTo(), new TransferAnswer(view, true));
  }

  private Decision<Event, State> creditAnswered(OpenAccount state, CreditAnswered answer) {
    var transferId = answer.transferId();
    var outgoing = state.sending().get(transferId);
    if (outgoing == null) return nothing(); // a late answer to a credit already settled
    var reply = answer.reply();
    if (answer.failure() != null || !(reply instanceof MovementReply || reply instanceof Rejected
        || reply instanceof LegUnknown)) {
      // No answer (timeout, node moving): the outcome is unknown, so ask again later; the credit is idempotent.
      var delay = creditRetry.getOrDefault(transferId, transfers.minRetry());
      ctx.getLog().info("account {}: the credit of transfer {} got no answer ({}), retrying in {}", accountId,
          transferId, answer.failure() != null ? answer.failure().toString() : reply, delay);
      timers.startSingleTimer(new ResendCredit(transferId), delay);
      var next = delay.multipliedBy(2);
      creditRetry.put(transferId, next.compareTo(transfers.maxRetry()) > 0 ? transfers.maxRetry() : next);
      return nothing();
    }
    creditRetry.remove(transferId);
    var now = clock.instant();
    var r = outgoing.request();
    if (reply instanceof MovementReply credited) {
      var creditedAt = credited.operation().occurredAt() != null ? credited.operation().occurredAt() : now;
      var completed = completedView(transferId, r, outgoing.debitedAt(), creditedAt);
      // Both legs are persisted: the transfer is complete whatever happens to the settlement write, which only
      // stops this account delivering the credit again. So the callers hear it now, not one write later; one who
      // asks again before the settlement is written hears it from `settlements` (or waits, with no delay).
      timers.cancel(new AnswerPending(transferId));
      answerWaiting(transferId, completed);
      waiting.remove(transferId);
      var settlement = new TransferSettled(accountId, transferId, creditedAt, null, now);
      if (transfers.settlementDelay().isZero()) return settled(transferId, settlement, completed);
      // It waits for the account's next write (a busy account writes again within the delay). Lost with a crash or
      // a move, the recovery delivers the credit again and the destination answers it from memory.
      settlements.put(transferId, new WaitingSettlement(settlement, completed));
      if (!timers.isTimerActive(SETTLE_WAITING)) {
        timers.startSingleTimer(SETTLE_WAITING, new SettleWaiting(), transfers.settlementDelay());
      }
      return nothing();
    }
    if (reply instanceof LegUnknown) {
      var reason = "account " + r.to() + " cannot tell whether the credit was applied";
      return settled(transferId, new TransferSettled(accountId, transferId, null, reason, now),
          parkedView(transferId, r, outgoing.debitedAt(), reason, now));
    }
    // Refused (closed since the pre-check, another currency): give the debit back, never refused.
    var reason = ((Rejected) reply).rejection().detail();
    var refunded = new TransferRefunded(accountId, transferId, legId(transferId, Operation.Kind.TRANSFER_REFUND),
        r.amount(), state.balance() + r.amount(), now, reason);
    return settled(transferId, refunded, compensatedView(transferId, r, outgoing.debitedAt(), reason, now));
  }

  private static final Object SETTLE_WAITING = "settle waiting";

  /** A waiting settlement written (unless a write it rode along with failed and the recovery settled it since). */
  private Decision<Event, State> settle(OpenAccount state, String transferId) {
    var waitingSettlement = settlements.get(transferId);
    if (waitingSettlement == null || !state.sending().containsKey(transferId)) {
      settlements.remove(transferId);
      return nothing();
    }
    // Its callers have their answer: retries meanwhile were answered from `settlements`.
    return new Decision<>(waitingSettlement.event(), s -> () -> {
      settlements.remove(transferId);
      if (settlements.isEmpty()) timers.cancel(SETTLE_WAITING);
    });
  }

  /** The transfer's outcome persisted, then its waiting callers answered. */
  private Decision<Event, State> settled(String transferId, Event outcome, Transfer.View view) {
    return new Decision<>(outcome, s -> () -> {
      timers.cancel(new AnswerPending(transferId));
      answerWaiting(transferId, view);
      waiting.remove(transferId);
    });
  }

  /**
   * @param retry whether the credit may have been sent before (a lost answer, a restart): only then can the
   *     destination have applied and forgotten it, and answer that it cannot tell
   */
  private void deliver(String transferId, Outgoing outgoing, boolean retry) {
    var r = outgoing.request();
    var answer = accounts.ask(r.to(), replyTo -> new Credit(transferId, accountId, r.amount(), r.currency(),
        outgoing.debitedAt(), retry, replyTo));
    ctx.pipeToSelf(answer, (reply, failure) -> new CreditAnswered(transferId, reply, failure));
  }

  private OutcomeWaiters<Reply> waitFor(String transferId) {
    return waiting.computeIfAbsent(transferId, id -> new OutcomeWaiters<>());
  }

  private void answerWaiting(String transferId, Transfer.View view) {
    var waiters = waiting.get(transferId);
    if (waiters != null) waiters.answer(replay -> new TransferAnswer(view, replay));
  }

  /** The operation id under which a parked settlement is remembered (a settled one needs no record). */
  static String settleId(String transferId) {
    return "transfer " + transferId + " settle";
  }

  private static Decision<Event, State> nothing() {
    return new Decision<>(null, s -> () -> {});
  }

  private static Transfer.View pendingView(String transferId, Outgoing outgoing) {
    return view(transferId, outgoing.request(), Transfer.Status.PENDING, null, null, outgoing.debitedAt(),
        List.of(new Transfer.Step("requested", outgoing.debitedAt())), null);
  }

  private static Transfer.View completedView(String transferId, Transfer.Request r, Instant debitedAt,
      Instant creditedAt) {
    return view(transferId, r, Transfer.Status.COMPLETED, null, null, debitedAt, List.of(
        new Transfer.Step("requested", debitedAt), new Transfer.Step("debited", debitedAt),
        new Transfer.Step("credited", creditedAt)), creditedAt);
  }

  private static Transfer.View compensatedView(String transferId, Transfer.Request r, Instant debitedAt,
      String reason, Instant refundedAt) {
    return view(transferId, r, Transfer.Status.COMPENSATED, reason, null, debitedAt, List.of(
        new Transfer.Step("requested", debitedAt), new Transfer.Step("debited", debitedAt),
        new Transfer.Step("credit refused", refundedAt), new Transfer.Step("refunded", refundedAt)), refundedAt);
  }

  private static Transfer.View parkedView(String transferId, Transfer.Request r, Instant debitedAt, String reason,
      Instant at) {
    return view(transferId, r, Transfer.Status.PARKED, reason, null, debitedAt, List.of(
        new Transfer.Step("requested", debitedAt), new Transfer.Step("debited", debitedAt),
        new Transfer.Step("parked", at)), at);
  }

  private static Transfer.View refusedView(String transferId, Transfer.Request r, Rejection refusal, Instant at) {
    return view(transferId, r, Transfer.Status.FAILED, refusal.detail(), refusal, at, List.of(
        new Transfer.Step("requested", at), new Transfer.Step("refused", at)), at);
  }

  private static Transfer.View view(String transferId, Transfer.Request r, Transfer.Status status, String detail,
      Rejection rejection, Instant createdAt, List<Transfer.Step> steps, Instant finishedAt) {
    return new Transfer.View(transferId, r, status, detail, rejection, steps, createdAt, finishedAt, null, null);
  }

  /** Refunds are never refused: the money was taken from this account and must come back. */
  private Decision<Event, State> refund(OpenAccount state, Refund cmd) {
    var id = legId(cmd.transferId(), Operation.Kind.TRANSFER_REFUND);
    var earlier = legReplay(state, id, Operation.Kind.TRANSFER_REFUND, cmd.amount(), cmd.transferId(),
        cmd.initiatedAt(), cmd.retry(), cmd.replyTo());
    if (earlier != null) return earlier;
    // A debit took this amount out of this balance, so giving it back cannot overflow.
    var event = new TransferRefunded(accountId, cmd.transferId(), id, cmd.amount(), state.balance() + cmd.amount(),
        clock.instant());
    return persist(event, cmd.replyTo(), s -> movementReply(s, id));
  }

  private static Rejection legRefusal(OpenAccount state, long amount, String currency) {
    if (amount <= 0) return Rejection.badRequest("amount must be positive");
    if (!state.currency().equals(currency)) {
      return Rejection.unprocessable(LedgerProblem.CURRENCY_MISMATCH,
          "currency " + currency + " does not match the account's " + state.currency());
    }
    return null;
  }

  /** A remembered leg answers as before; an unremembered one that may have been forgotten answers LegUnknown. */
  private Decision<Event, State> legReplay(OpenAccount state, String legId, Operation.Kind kind, long amount,
      String transferId, Instant initiatedAt, boolean retry, ActorRef<Reply> replyTo) {
    var earlier = replayOf(state, legId, kind, amount, replyTo);
    if (earlier != null) return earlier;
    if (retry && state.mayHaveForgotten(initiatedAt)) return answer(replyTo, new LegUnknown(transferId));
    return null;
  }

  /** The reply to a retried operation id, or null when the id is new. Same id, other request: 409. */
  private Decision<Event, State> replayOf(
      OpenAccount state, String operationId, Operation.Kind kind, long amount, ActorRef<Reply> replyTo) {
    var earlier = state.recentOperations().get(operationId);
    if (earlier == null) return null;
    if (earlier.kind() != kind || earlier.amount() != amount) {
      return reject(replyTo, Rejection.conflict(LedgerProblem.IDEMPOTENCY_KEY_REUSED,
          "Idempotency-Key '" + operationId + "' was already used for a different request"));
    }
    return answer(replyTo, new MovementReply(summary(state), earlier, true));
  }

  private MovementReply movementReply(OpenAccount state, String operationId) {
    return new MovementReply(summary(state), state.recentOperations().get(operationId), false);
  }

  private static boolean owned(OpenAccount state, String requester) {
    return state.owner().equals(requester);
  }

  private Decision<Event, State> unknown(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.notFound(LedgerProblem.ACCOUNT_NOT_FOUND,
        "account " + accountId + " does not exist"));
  }

  private Decision<Event, State> closed(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.unprocessable(LedgerProblem.ACCOUNT_CLOSED,
        "account " + accountId + " is closed"));
  }

  private Decision<Event, State> forbidden(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.forbidden(LedgerProblem.NOT_ACCOUNT_OWNER,
        "account " + accountId + " belongs to another user"));
  }

  private static Decision<Event, State> reject(ActorRef<Reply> replyTo, Rejection rejection) {
    return answer(replyTo, new Rejected(rejection));
  }

  private Summary summary(OpenAccount state) {
    return new Summary(accountId, state.owner(), state.currency(), state.overdraftLimit(), state.balance(),
        state.held(),
        state.version(), state.openedAt(), state.closed());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(Unopened.class)
        .onEvent(AccountOpened.class, (state, e) ->
            OpenAccount.opened(e));
    builder.forStateType(OpenAccount.class)
        .onEvent(TransferDebited.class, (state, e) -> {
          var after = state.withOperation(
              new Operation(e.operationId(), e.kind(), e.amount(), e.balanceAfter(), e.occurredAt(), e.request(), null),
              memory);
          if (e.coordinated()) after = after.withSending(e.transferId(), new Outgoing(e.request(), e.occurredAt()));
          return e.releasedHold() == null ? after : after.withHold(e.transferId(), null);
        })
        .onEvent(TransferRefunded.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), e.kind(), e.amount(), e.balanceAfter(), e.occurredAt(), null,
                e.creditRefusal() == null ? null : Rejection.unprocessable(e.creditRefusal())),
            memory).withSending(e.transferId(), null))
        .onEvent(TransferSettled.class, (state, e) -> {
          var after = state.withSending(e.transferId(), null);
          // A completed transfer needs no record beyond its debit; a parked one is remembered for its retries.
          return e.parkedReason() == null ? after : after.withOperation(new Operation(settleId(e.transferId()),
              Operation.Kind.TRANSFER_CREDIT, 0, state.balance(), e.occurredAt(), null,
              Rejection.conflict(e.parkedReason())), memory);
        })
        .onEvent(TransferRefused.class, (state, e) -> state.withOperation(new Operation(e.operationId(),
            Operation.Kind.TRANSFER_DEBIT, e.request().amount(), state.balance(), e.occurredAt(), e.request(),
            e.rejection()), memory))
        .onEvent(TransferCredited.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), e.kind(), e.amount(), e.balanceAfter(), e.occurredAt()),
            memory).withExpected(e.transferId(), null))
        .onEvent(CreditExpected.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), Operation.Kind.EXPECT, e.amount(), state.balance(), e.occurredAt()),
            memory).withExpected(e.transferId(), e.amount()))
        .onEvent(ExpectedCreditCancelled.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), Operation.Kind.EXPECT_CANCEL, e.amount(), state.balance(), e.occurredAt()),
            memory).withExpected(e.transferId(), null))
        .onEvent(Movement.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), e.kind(), e.amount(), e.balanceAfter(), e.occurredAt()),
            memory))
        .onEvent(FundsHeld.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), Operation.Kind.HOLD, e.amount(), state.balance(), e.occurredAt()),
            memory).withHold(e.transferId(), e.amount()))
        .onEvent(HoldReleased.class, (state, e) -> state.withOperation(
            new Operation(e.operationId(), Operation.Kind.HOLD_RELEASE, e.amount(), state.balance(), e.occurredAt()),
            memory).withHold(e.transferId(), null))
        .onEvent(AccountClosed.class, (state, e) -> state.closedNow());
    return builder.build();
  }
}
