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
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
      Instant occurredAt, Long releasedHold, Long heldAfter)
      implements Movement {
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

  /** A debit given back because its credit could not happen. */
  public record TransferRefunded(
      String accountId, String transferId, String operationId, long amount, long balanceAfter, Instant occurredAt)
      implements Movement {
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

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record Unopened() implements State {}

  /**
   * {@code recentOperations}: the last N operation ids (client keys and transfer legs) with what they did, oldest
   * first. {@code forgottenUpTo}: the latest time of an operation dropped from it (null: none dropped yet).
   * {@code holds}: the amount each pending transfer holds; {@code expected}: credits announced by linked batches
   * (both null in snapshots taken before they existed).
   */
  public record OpenAccount(
      String owner, String currency, long overdraftLimit, long balance, long version, Instant openedAt,
      Map<String, Operation> recentOperations, boolean closed, Instant forgottenUpTo, Map<String, Long> holds,
      Map<String, Long> expected)
      implements State {

    public OpenAccount {
      holds = holds == null ? Map.of() : holds;
      expected = expected == null ? Map.of() : expected;
    }

    OpenAccount withExpected(String transferId, Long amount) {
      var copy = new LinkedHashMap<>(expected);
      if (amount == null) copy.remove(transferId);
      else copy.put(transferId, amount);
      return new OpenAccount(owner, currency, overdraftLimit, balance, version, openedAt, recentOperations, closed,
          forgottenUpTo, holds, Collections.unmodifiableMap(copy));
    }

    long held() {
      return holds.values().stream().mapToLong(Long::longValue).sum();
    }

    long available() {
      return balance - held();
    }

    /**
     * Remembers {@code op}, then forgets the oldest operations beyond {@code memory.operations()} — except a client's
     * deposit or withdrawal younger than {@code memory.keyRetention()}: its Idempotency-Key must keep working for that
     * long, however busy the account (age is measured against the new operation's time, so replays agree).
     */
    OpenAccount withOperation(Operation op, Memory memory) {
      // Copy on write: state must stay immutable because snapshots are serialized asynchronously.
      var ops = new LinkedHashMap<String, Operation>(recentOperations);
      ops.put(op.operationId(), op);
      var forgotten = forgottenUpTo;
      var keepKeysFrom = op.occurredAt() == null ? null : op.occurredAt().minus(memory.keyRetention());
      var it = ops.values().iterator();
      while (ops.size() > memory.operations() && it.hasNext()) {
        var candidate = it.next();
        if (candidate == op) break; // never the operation being remembered
        boolean clientKey = candidate.kind() == Operation.Kind.DEPOSIT || candidate.kind() == Operation.Kind.WITHDRAWAL;
        if (clientKey && keepKeysFrom != null && candidate.occurredAt() != null
            && candidate.occurredAt().isAfter(keepKeysFrom)) {
          continue;
        }
        if (candidate.occurredAt() != null && (forgotten == null || candidate.occurredAt().isAfter(forgotten))) {
          forgotten = candidate.occurredAt();
        }
        it.remove();
      }
      return new OpenAccount(owner, currency, overdraftLimit, op.balanceAfter(), version + 1, openedAt,
          Collections.unmodifiableMap(ops), closed, forgotten, holds, expected);
    }

    OpenAccount withHold(String transferId, Long amount) {
      var copy = new LinkedHashMap<>(holds);
      if (amount == null) copy.remove(transferId);
      else copy.put(transferId, amount);
      return new OpenAccount(owner, currency, overdraftLimit, balance, version, openedAt, recentOperations, closed,
          forgottenUpTo, Collections.unmodifiableMap(copy), expected);
    }

    OpenAccount closedNow() {
      return new OpenAccount(owner, currency, overdraftLimit, balance, version + 1, openedAt, recentOperations, true,
          forgottenUpTo, holds, expected);
    }

    /** Could a leg of a transfer started at {@code initiatedAt} have been applied and forgotten since? */
    boolean mayHaveForgotten(Instant initiatedAt) {
      return forgottenUpTo != null && !initiatedAt.minus(CLOCK_SKEW).isAfter(forgottenUpTo);
    }
  }

  /** What a remembered operation did, to answer its retries identically. */
  public record Operation(String operationId, Kind kind, long amount, long balanceAfter, Instant occurredAt)
      implements CborSerializable {
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

  public static void init(ActorSystem<?> system, Memory memory) {
    ClusterSharding.get(system).init(Metrics.get(system).entity(ENTITY_KEY, Command.class, ctx ->
        create(ctx.getEntityId(), memory, Clock.systemUTC())));
  }

  /** With the default key retention of 24 h. */
  public static Behavior<Command> create(String accountId, int rememberedOperations, Clock clock) {
    return create(accountId, new Memory(rememberedOperations, Duration.ofHours(24)), clock);
  }

  public static Behavior<Command> create(String accountId, Memory memory, Clock clock) {
    return GroupCommit.around(Command.class, requests -> new Batch(requests.stream().map(Request.class::cast).toList()),
        MAX_BATCH, Behaviors.setup(ctx -> new LedgerAccount(accountId, memory, clock, ctx.getSelf())));
  }

  private final String accountId;
  private final Memory memory;
  private final Clock clock;

  private LedgerAccount(String accountId, Memory memory, Clock clock, ActorRef<Command> self) {
    super(PersistenceId.of(ENTITY_KEY.name(), accountId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1), Request.class, self,
        BatchWritten::new);
    this.accountId = accountId;
    this.memory = memory;
    this.clock = clock;
  }

  @Override
  public State emptyState() {
    return new Unopened();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tagFor(accountId));
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  /** Every request comes in a {@link Batch} of those that queued while the previous write was in flight. */
  @Override
  protected Decision<Event, State> decide(State state, Request request) {
    if (!(state instanceof OpenAccount open)) {
      return request instanceof Open cmd ? open(cmd) : unknown(request.replyTo());
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
      return reject(cmd.replyTo(), Rejection.unprocessable("unknown currency '" + cmd.currency() + "'"));
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
    return reject(cmd.replyTo(), Rejection.conflict("account " + accountId + " already exists with other terms"));
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
      return reject(cmd.replyTo(), Rejection.unprocessable("deposit would overflow the balance"));
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
      return Rejection.unprocessable("withdrawal would overflow the balance");
    }
    if (after >= -state.overdraftLimit()) return null;
    var held = state.held() == 0 ? "" : " (of which " + state.held() + " held by pending transfers)";
    return Rejection.unprocessable(state.overdraftLimit() == 0
        ? "insufficient funds: balance " + state.balance() + held + ", requested " + amount
        : "overdraft limit " + state.overdraftLimit() + " exceeded: balance " + state.balance() + held
            + ", requested " + amount);
  }

  private Decision<Event, State> close(OpenAccount state, Close cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    if (state.closed()) return answer(cmd.replyTo(), new AccountReply(summary(state)));
    if (state.balance() != 0) {
      return reject(cmd.replyTo(), Rejection.unprocessable(
          "only an account with balance 0 can be closed; balance is " + state.balance()));
    }
    if (!state.expected().isEmpty()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(
          "the account expects " + state.expected().size() + " credit(s) from linked transfers; retry shortly"));
    }
    if (!state.holds().isEmpty()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(
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
      return reject(cmd.replyTo(), Rejection.unprocessable("credit would overflow the balance"));
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
      return reject(cmd.replyTo(), Rejection.unprocessable(
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
      return reject(replyTo, Rejection.conflict("transfer " + transferId + " was already posted with amount "
          + earlier.amount()));
    }
    var capture = kind == Operation.Kind.TRANSFER_DEBIT;
    var other = legId(transferId, capture ? Operation.Kind.HOLD_RELEASE : Operation.Kind.TRANSFER_DEBIT);
    if (state.recentOperations().containsKey(other)) {
      return reject(replyTo, Rejection.conflict("the hold of transfer " + transferId + " was already "
          + (capture ? "released" : "posted")));
    }
    if (retry && state.mayHaveForgotten(initiatedAt)) return answer(replyTo, new LegUnknown(transferId));
    return reject(replyTo, Rejection.notFound("no hold of transfer " + transferId + " on account " + accountId));
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
      return Rejection.unprocessable("currency " + currency + " does not match the account's " + state.currency());
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
      return reject(replyTo, Rejection.conflict(
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
    return reject(replyTo, Rejection.notFound("account " + accountId + " does not exist"));
  }

  private Decision<Event, State> closed(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.unprocessable("account " + accountId + " is closed"));
  }

  private Decision<Event, State> forbidden(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.forbidden("account " + accountId + " belongs to another user"));
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
            new OpenAccount(e.owner(), e.currency(), e.overdraftLimit(), 0, 1, e.openedAt(), Map.of(), false, null,
                Map.of(), Map.of()));
    builder.forStateType(OpenAccount.class)
        .onEvent(TransferDebited.class, (state, e) -> {
          var after = state.withOperation(
              new Operation(e.operationId(), e.kind(), e.amount(), e.balanceAfter(), e.occurredAt()),
              memory);
          return e.releasedHold() == null ? after : after.withHold(e.transferId(), null);
        })
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
