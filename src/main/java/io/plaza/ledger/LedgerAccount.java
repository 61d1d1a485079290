package io.plaza.ledger;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * A wallet account: one sharded event-sourced entity per account. Balances are integer minor units of one
 * ISO-4217 currency; only the owner may see or move the money; every deposit and withdrawal carries an operation id
 * (the client's Idempotency-Key) so a retried request never applies twice.
 */
public final class LedgerAccount
    extends EventSourcedBehaviorWithEnforcedReplies<LedgerAccount.Command, LedgerAccount.Event, LedgerAccount.State> {

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

  public record Open(String requester, String currency, long overdraftLimit, ActorRef<Reply> replyTo)
      implements Command {}

  public record Deposit(String requester, long amount, String operationId, ActorRef<Reply> replyTo)
      implements Command {}

  public record Withdraw(String requester, long amount, String operationId, ActorRef<Reply> replyTo)
      implements Command {}

  public record Get(String requester, ActorRef<Reply> replyTo) implements Command {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  /** The account as it is after the command. */
  public record AccountReply(Summary account) implements Reply {}

  /** A deposit or withdrawal took effect; {@code replayed} when it had already taken effect under the same id. */
  public record MovementReply(Summary account, Operation operation, boolean replayed) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  public record Summary(
      String accountId, String owner, String currency, long overdraftLimit, long balance, long version,
      Instant openedAt)
      implements CborSerializable {}

  // ---- Events -----------------------------------------------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String accountId();
  }

  public record AccountOpened(
      String accountId, String owner, String currency, long overdraftLimit, Instant openedAt)
      implements Event {}

  public record FundsDeposited(
      String accountId, String operationId, long amount, long balanceAfter, Instant occurredAt)
      implements Event {}

  public record FundsWithdrawn(
      String accountId, String operationId, long amount, long balanceAfter, Instant occurredAt)
      implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record Unopened() implements State {}

  public record OpenAccount(
      String owner, String currency, long overdraftLimit, long balance, long version, Instant openedAt,
      Map<String, Operation> recentOperations)
      implements State {

    OpenAccount withMovement(Operation op, int remember) {
      // Copy on write: state must stay immutable because snapshots are serialized asynchronously.
      var ops = new LinkedHashMap<String, Operation>(recentOperations);
      ops.put(op.operationId(), op);
      var it = ops.keySet().iterator();
      while (ops.size() > remember) {
        it.next();
        it.remove();
      }
      return new OpenAccount(owner, currency, overdraftLimit, op.balanceAfter(), version + 1, openedAt,
          Collections.unmodifiableMap(ops));
    }
  }

  /** What a remembered deposit or withdrawal did, to answer its retries identically. */
  public record Operation(String operationId, Kind kind, long amount, long balanceAfter) implements CborSerializable {
    public enum Kind { DEPOSIT, WITHDRAWAL }
  }

  // ---- Behavior ---------------------------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, int rememberedOperations) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), rememberedOperations, Clock.systemUTC())));
  }

  public static Behavior<Command> create(String accountId, int rememberedOperations, Clock clock) {
    return new LedgerAccount(accountId, rememberedOperations, clock);
  }

  private final String accountId;
  private final int rememberedOperations;
  private final Clock clock;

  private LedgerAccount(String accountId, int rememberedOperations, Clock clock) {
    super(PersistenceId.of(ENTITY_KEY.name(), accountId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.accountId = accountId;
    this.rememberedOperations = rememberedOperations;
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

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    builder.forStateType(Unopened.class)
        .onCommand(Open.class, this::open)
        .onCommand(Deposit.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(Withdraw.class, cmd -> unknown(cmd.replyTo()))
        .onCommand(Get.class, cmd -> unknown(cmd.replyTo()));
    builder.forStateType(OpenAccount.class)
        .onCommand(Open.class, this::reopen)
        .onCommand(Deposit.class, this::deposit)
        .onCommand(Withdraw.class, this::withdraw)
        .onCommand(Get.class, (state, cmd) -> owned(state, cmd.requester())
            ? Effect().reply(cmd.replyTo(), new AccountReply(summary(state)))
            : forbidden(cmd.replyTo()));
    return builder.build();
  }

  private ReplyEffect<Event, State> open(Open cmd) {
    if (!Currencies.isKnown(cmd.currency())) {
      return reject(cmd.replyTo(), Rejection.unprocessable("unknown currency '" + cmd.currency() + "'"));
    }
    if (cmd.overdraftLimit() < 0) {
      return reject(cmd.replyTo(), Rejection.badRequest("overdraftLimit must not be negative"));
    }
    var opened = new AccountOpened(accountId, cmd.requester(), cmd.currency(), cmd.overdraftLimit(), clock.instant());
    return Effect().persist(opened)
        .thenReply(cmd.replyTo(), state -> new AccountReply(summary((OpenAccount) state)));
  }

  /** Opening again with the same owner and terms is a retry (same Idempotency-Key): answer with the account. */
  private ReplyEffect<Event, State> reopen(OpenAccount state, Open cmd) {
    if (state.owner().equals(cmd.requester()) && state.currency().equals(cmd.currency())
        && state.overdraftLimit() == cmd.overdraftLimit()) {
      return Effect().reply(cmd.replyTo(), new AccountReply(summary(state)));
    }
    return reject(cmd.replyTo(), Rejection.conflict("account " + accountId + " already exists with other terms"));
  }

  private ReplyEffect<Event, State> deposit(OpenAccount state, Deposit cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    var earlier = replayOf(state, cmd.operationId(), Operation.Kind.DEPOSIT, cmd.amount(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (cmd.amount() <= 0) return reject(cmd.replyTo(), Rejection.badRequest("amount must be positive"));
    long after;
    try {
      after = Math.addExact(state.balance(), cmd.amount());
    } catch (ArithmeticException overflow) {
      return reject(cmd.replyTo(), Rejection.unprocessable("deposit would overflow the balance"));
    }
    var event = new FundsDeposited(accountId, cmd.operationId(), cmd.amount(), after, clock.instant());
    return Effect().persist(event).thenReply(cmd.replyTo(), s -> movementReply((OpenAccount) s, cmd.operationId()));
  }

  private ReplyEffect<Event, State> withdraw(OpenAccount state, Withdraw cmd) {
    if (!owned(state, cmd.requester())) return forbidden(cmd.replyTo());
    var earlier = replayOf(state, cmd.operationId(), Operation.Kind.WITHDRAWAL, cmd.amount(), cmd.replyTo());
    if (earlier != null) return earlier;
    if (cmd.amount() <= 0) return reject(cmd.replyTo(), Rejection.badRequest("amount must be positive"));
    long after;
    try {
      after = Math.subtractExact(state.balance(), cmd.amount());
    } catch (ArithmeticException overflow) {
      return reject(cmd.replyTo(), Rejection.unprocessable("withdrawal would overflow the balance"));
    }
    if (after < -state.overdraftLimit()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(state.overdraftLimit() == 0
          ? "insufficient funds: balance " + state.balance() + ", requested " + cmd.amount()
          : "overdraft limit " + state.overdraftLimit() + " exceeded: balance " + state.balance()
              + ", requested " + cmd.amount()));
    }
    var event = new FundsWithdrawn(accountId, cmd.operationId(), cmd.amount(), after, clock.instant());
    return Effect().persist(event).thenReply(cmd.replyTo(), s -> movementReply((OpenAccount) s, cmd.operationId()));
  }

  /** The reply to a retried operation id, or null when the id is new. Same id, other request: 409. */
  private ReplyEffect<Event, State> replayOf(
      OpenAccount state, String operationId, Operation.Kind kind, long amount, ActorRef<Reply> replyTo) {
    var earlier = state.recentOperations().get(operationId);
    if (earlier == null) return null;
    if (earlier.kind() != kind || earlier.amount() != amount) {
      return reject(replyTo, Rejection.conflict(
          "Idempotency-Key '" + operationId + "' was already used for a different request"));
    }
    return Effect().reply(replyTo, new MovementReply(summary(state), earlier, true));
  }

  private MovementReply movementReply(OpenAccount state, String operationId) {
    return new MovementReply(summary(state), state.recentOperations().get(operationId), false);
  }

  private static boolean owned(OpenAccount state, String requester) {
    return state.owner().equals(requester);
  }

  private ReplyEffect<Event, State> unknown(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.notFound("account " + accountId + " does not exist"));
  }

  private ReplyEffect<Event, State> forbidden(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.forbidden("account " + accountId + " belongs to another user"));
  }

  private ReplyEffect<Event, State> reject(ActorRef<Reply> replyTo, Rejection rejection) {
    return Effect().reply(replyTo, new Rejected(rejection));
  }

  private Summary summary(OpenAccount state) {
    return new Summary(accountId, state.owner(), state.currency(), state.overdraftLimit(), state.balance(),
        state.version(), state.openedAt());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(Unopened.class)
        .onEvent(AccountOpened.class, (state, e) ->
            new OpenAccount(e.owner(), e.currency(), e.overdraftLimit(), 0, 1, e.openedAt(), Map.of()));
    builder.forStateType(OpenAccount.class)
        .onEvent(FundsDeposited.class, (state, e) -> state.withMovement(
            new Operation(e.operationId(), Operation.Kind.DEPOSIT, e.amount(), e.balanceAfter()),
            rememberedOperations))
        .onEvent(FundsWithdrawn.class, (state, e) -> state.withMovement(
            new Operation(e.operationId(), Operation.Kind.WITHDRAWAL, e.amount(), e.balanceAfter()),
            rememberedOperations));
    return builder.build();
  }
}
