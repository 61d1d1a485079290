package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;

/**
 * Random ledgers under random concurrent load: transfers (plain and pending), posts, voids, reversals, deposits and
 * withdrawals, every request sent several times at once (client retries), and account answers randomly lost (the saga
 * must ask again). Whatever happens, money is conserved, no account goes below its overdraft limit, and every
 * idempotency key takes effect at most once — checked against the events the accounts persisted.
 */
class LedgerPropertiesTest {

  private static final ActorTestKit testKit = ActorTestKit.create(AccountsFixture.config());
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Transfer.Settings SETTINGS =
      new Transfer.Settings(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(5), Duration.ofMillis(50));

  @AfterContainer
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** One client request; {@code copies} is how many times it is sent at once. */
  sealed interface Action {}

  record Move(int from, int to, long amount, boolean pending, boolean wrongUser, int copies) implements Action {}

  record Deposit(int account, long amount, int copies) implements Action {}

  record Withdraw(int account, long amount, int copies) implements Action {}

  /** Second phase, on the n-th Move: post (some amount), void, or reverse it. */
  record Settle(int move, int kind, long amount, int copies) implements Action {}

  @Provide
  Arbitrary<List<Action>> firstPhase() {
    var index = Arbitraries.integers().between(0, 4);
    var copies = Arbitraries.integers().between(1, 3);
    var amount = Arbitraries.longs().between(1, 400);
    Arbitrary<Action> move = Combinators.combine(index, index, amount, Arbitraries.of(false, false, true),
        Arbitraries.of(false, false, false, false, true), copies).as(Move::new);
    Arbitrary<Action> deposit = Combinators.combine(index, amount, copies).as(Deposit::new);
    Arbitrary<Action> withdraw = Combinators.combine(index, amount, copies).as(Withdraw::new);
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(6, move), net.jqwik.api.Tuple.of(1, deposit), net.jqwik.api.Tuple.of(1, withdraw))
        .list().ofMinSize(1).ofMaxSize(25);
  }

  @Provide
  Arbitrary<List<Action>> secondPhase() {
    Arbitrary<Action> settle = Combinators.combine(Arbitraries.integers().between(0, 24),
        Arbitraries.integers().between(0, 2), Arbitraries.longs().between(1, 400),
        Arbitraries.integers().between(1, 3)).as(Settle::new);
    return settle.list().ofMaxSize(12);
  }

  @Property(tries = 150)
  void moneyIsConservedAndEveryKeyTakesEffectOnce(
      @ForAll("firstPhase") List<Action> first, @ForAll("secondPhase") List<Action> second,
      @ForAll("startingBalances") List<Long> starting, @ForAll("overdrafts") List<Long> overdrafts,
      @ForAll long seed) throws Exception {
    var ledger = new Ledger(seed);
    for (int i = 0; i < 5; i++) ledger.open(i, overdrafts.get(i), starting.get(i));

    // Phase 1: everything at once, each request sent `copies` times concurrently.
    var replies = new ArrayList<CompletableFuture<?>>();
    var moves = new ArrayList<Move>();
    for (var action : first) {
      if (action instanceof Move m) moves.add(m);
      for (int c = 0; c < copies(action); c++) replies.add(ledger.run(action, moves.size() - 1));
    }
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    // Phase 2: posts, voids and reversals of phase-1 transfers, again duplicated.
    replies.clear();
    for (var action : second) {
      var s = (Settle) action;
      if (moves.isEmpty()) break;
      for (int c = 0; c < s.copies(); c++) replies.add(ledger.settle(s, s.move() % moves.size(), moves));
    }
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

    ledger.assertInvariants();
  }

  @Provide
  Arbitrary<List<Long>> startingBalances() {
    return Arbitraries.longs().between(0, 500).list().ofSize(5);
  }

  @Provide
  Arbitrary<List<Long>> overdrafts() {
    return Arbitraries.of(0L, 0L, 0L, 100L).list().ofSize(5);
  }

  private static int copies(Action action) {
    if (action instanceof Move m) return m.copies();
    if (action instanceof Deposit d) return d.copies();
    return ((Withdraw) action).copies();
  }

  /** Five accounts and their transfers as real entities on the in-memory journal; leg answers lost at random. */
  private static final class Ledger {
    final String run = UUID.randomUUID().toString().substring(0, 8);
    final Random random;
    final Map<String, ActorRef<LedgerAccount.Command>> accountActors = new ConcurrentHashMap<>();
    final Map<String, ActorRef<Transfer.Command>> transfers = new ConcurrentHashMap<>();
    final Map<String, Long> overdraft = new HashMap<>();
    final Map<String, String> requesters = new ConcurrentHashMap<>();
    final Transfer.Accounts accounts;

    Ledger(long seed) {
      random = new Random(seed);
      Transfer.Accounts direct = (id, command) -> AskPattern.ask(account(id), command::apply, WAIT,
          testKit.system().scheduler());
      // About one leg answer in eight is lost after the account applied the leg.
      accounts = (id, command) -> direct.ask(id, command).thenCompose(reply -> lose()
          ? CompletableFuture.failedFuture(new TimeoutException("answer lost"))
          : CompletableFuture.completedFuture(reply));
    }

    synchronized boolean lose() {
      return random.nextInt(8) == 0;
    }

    String id(int account) {
      return run + "-acc-" + account;
    }

    static String owner(int account) {
      return "user" + account;
    }

    ActorRef<LedgerAccount.Command> account(String id) {
      return accountActors.computeIfAbsent(id, k -> testKit.spawn(LedgerAccount.create(k, 1000, Clock.systemUTC())));
    }

    <R> CompletableFuture<R> ask(ActorRef<LedgerAccount.Command> to,
        Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> command) {
      return AskPattern.ask(to, command::apply, WAIT, testKit.system().scheduler())
          .thenApply(r -> (R) r).toCompletableFuture();
    }

    ActorRef<Transfer.Command> transfer(String transferId) {
      return transfers.computeIfAbsent(transferId, k ->
          testKit.spawn(Transfer.create(k, accounts, SETTINGS, Clock.systemUTC(), self -> {})));
    }

    CompletableFuture<Transfer.Reply> tellTransfer(String transferId,
        Function<ActorRef<Transfer.Reply>, Transfer.Command> command) {
      CompletionStage<Transfer.Reply> reply = AskPattern.ask(transfer(transferId), command::apply, WAIT,
          testKit.system().scheduler());
      return reply.toCompletableFuture();
    }

    void open(int i, long overdraftLimit, long deposit) throws Exception {
      overdraft.put(id(i), overdraftLimit);
      ask(account(id(i)), r -> new LedgerAccount.Open(owner(i), "EUR", overdraftLimit, r)).get(10, TimeUnit.SECONDS);
      if (deposit > 0) {
        ask(account(id(i)), r -> new LedgerAccount.Deposit(owner(i), deposit, "seed", r)).get(10, TimeUnit.SECONDS);
      }
    }

    CompletableFuture<?> run(Action action, int moveIndex) {
      if (action instanceof Deposit d) {
        return ask(account(id(d.account())), r -> new LedgerAccount.Deposit(owner(d.account()), d.amount(),
            "dep-" + d.hashCode(), r));
      }
      if (action instanceof Withdraw w) {
        return ask(account(id(w.account())), r -> new LedgerAccount.Withdraw(owner(w.account()), w.amount(),
            "wd-" + w.hashCode(), r));
      }
      var m = (Move) action;
      var requester = m.wrongUser() ? "mallory" : owner(m.from());
      var request = new Transfer.Request(requester, id(m.from()), id(m.to()), m.amount(), "EUR", "",
          m.pending() ? 3600 : 0);
      // The same key for every copy: what a retrying client sends.
      requesters.put(transferId(moveIndex), requester);
      return tellTransfer(transferId(moveIndex), r -> new Transfer.Initiate(request, r));
    }

    String transferId(int moveIndex) {
      return run + "-t-" + moveIndex;
    }

    CompletableFuture<?> settle(Settle s, int moveIndex, List<Move> moves) {
      var m = moves.get(moveIndex);
      var id = transferId(moveIndex);
      var requester = m.wrongUser() ? "mallory" : owner(m.from());
      return switch (s.kind()) {
        case 0 -> tellTransfer(id, r -> new Transfer.PostPending(requester, s.amount(), r));
        case 1 -> tellTransfer(id, r -> new Transfer.VoidPending(requester, r));
        default -> {
          // A reversal: the destination's owner sends the amount back under the reversal's fixed id.
          var back = new Transfer.Request(owner(m.to()), id(m.to()), id(m.from()), m.amount(), "EUR", "reversal",
              0, id);
          requesters.put(Transfer.reversalIdFor(id), back.requester());
          yield tellTransfer(Transfer.reversalIdFor(id), r -> new Transfer.Initiate(back, r));
        }
      };
    }

    void assertInvariants() throws Exception {
      // Quiescence: every transfer has left PENDING (a HELD one waits for a post that may never come).
      var finalViews = new HashMap<String, Transfer.View>();
      for (var transferId : transfers.keySet()) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        Transfer.View view = null;
        while (System.nanoTime() < deadline) {
          var requester = requesters.get(transferId);
          var reply = tellTransfer(transferId, r -> new Transfer.Get(requester, r))
              .get(10, TimeUnit.SECONDS);
          if (reply instanceof Transfer.Rejected) break; // never initiated (refused before persisting)
          view = ((Transfer.TransferReply) reply).transfer();
          if (view.status() != Transfer.Status.PENDING) break;
          Thread.sleep(20);
        }
        if (view != null) {
          assertTrue(view.status() != Transfer.Status.PENDING, "transfer " + transferId + " stuck: " + view);
          finalViews.put(transferId, view);
        }
      }

      var storage = PersistenceTestKit.create(testKit.system());
      long external = 0;
      long total = 0;
      var legs = new HashMap<String, Map<LedgerAccount.Operation.Kind, Integer>>();
      var legAmounts = new HashMap<String, Long>();
      for (int i = 0; i < 5; i++) {
        var owner = owner(i);
        var summary = ((LedgerAccount.AccountReply) ask(account(id(i)),
            r -> new LedgerAccount.Get(owner, r)).get(10, TimeUnit.SECONDS)).account();
        total += summary.balance();
        assertTrue(summary.held() >= 0);
        assertTrue(summary.balance() - summary.held() >= -overdraft.get(id(i)),
            "account " + i + " below its overdraft limit: " + summary);
        long heldByEvents = 0;
        for (var event : storage.persistedInStorage("LedgerAccount|" + id(i))) {
          if (event instanceof LedgerAccount.FundsDeposited d) external += d.amount();
          if (event instanceof LedgerAccount.FundsWithdrawn w) external -= w.amount();
          if (event instanceof LedgerAccount.Movement mv && mv.transferId() != null) {
            legs.computeIfAbsent(mv.transferId(), k -> new HashMap<>()).merge(mv.kind(), 1, Integer::sum);
            legAmounts.merge(mv.transferId() + " " + mv.kind(), mv.amount(), Long::sum);
          }
          if (event instanceof LedgerAccount.FundsHeld h) heldByEvents += h.amount();
          if (event instanceof LedgerAccount.HoldReleased r) heldByEvents -= r.amount();
          if (event instanceof LedgerAccount.TransferDebited d && d.releasedHold() != null) {
            heldByEvents -= d.releasedHold();
          }
        }
        assertEquals(summary.held(), heldByEvents, "holds of account " + i);
      }
      // Transfers move money, they never create or destroy it.
      assertEquals(external, total, "Σ balances = Σ deposits - Σ withdrawals");

      for (var entry : finalViews.entrySet()) {
        var view = entry.getValue();
        var applied = legs.getOrDefault(entry.getKey(), Map.of());
        // Every key took effect at most once: one debit, one credit, one refund at most.
        applied.forEach((kind, count) -> assertEquals(1, count, entry.getKey() + " " + kind + " applied " + count
            + " times"));
        long amount = view.postedAmount() != null ? view.postedAmount() : view.request().amount();
        var debit = LedgerAccount.Operation.Kind.TRANSFER_DEBIT;
        var credit = LedgerAccount.Operation.Kind.TRANSFER_CREDIT;
        var refund = LedgerAccount.Operation.Kind.TRANSFER_REFUND;
        switch (view.status()) {
          case COMPLETED -> {
            assertEquals(Map.of(debit, 1, credit, 1), applied, entry.getKey());
            assertEquals(amount, legAmounts.get(entry.getKey() + " " + debit));
            assertEquals(amount, legAmounts.get(entry.getKey() + " " + credit));
          }
          case COMPENSATED -> {
            assertEquals(Map.of(debit, 1, refund, 1), applied, entry.getKey());
            assertEquals(legAmounts.get(entry.getKey() + " " + debit), legAmounts.get(entry.getKey() + " " + refund));
          }
          case FAILED, VOIDED, EXPIRED, HELD -> assertTrue(applied.isEmpty(), entry.getKey() + " moved " + applied);
          default -> throw new AssertionError("transfer " + entry.getKey() + " ended " + view);
        }
      }
    }

  }
}
