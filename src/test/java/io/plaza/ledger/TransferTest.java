package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The transfer saga against real LedgerAccount entities on the in-memory journal: outcomes, idempotency, and the
 * failures in between — lost answers, a crash between debit and credit, a leg the account cannot vouch for.
 */
class TransferTest {

  private static final ActorTestKit testKit = ActorTestKit.create(AccountsFixture.config());
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Transfer.Settings SETTINGS =
      new Transfer.Settings(Duration.ofSeconds(3), WAIT, Duration.ofMillis(50), Duration.ofMillis(200));

  private final AccountsFixture fixture = new AccountsFixture(testKit, WAIT);
  /** Account entities by id, spawned on first use as sharding does. */
  private final Map<String, ActorRef<LedgerAccount.Command>> accountActors = fixture.actors;
  private final Transfer.Accounts accounts = fixture.accounts;
  private final String a = "a-" + UUID.randomUUID();
  private final String b = "b-" + UUID.randomUUID();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  private LedgerAccount.Reply account(String id, Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> cmd) {
    return fixture.ask(id, cmd);
  }

  private void open(String id, String owner, long deposit) {
    fixture.open(id, owner, deposit);
  }

  private long balance(String id, String owner) {
    return fixture.summary(id, owner).balance();
  }

  private ActorRef<Transfer.Command> transfer(String id, Transfer.Settings settings, Clock clock) {
    return testKit.spawn(Transfer.create(id, accounts, settings, clock, self -> {}));
  }

  private Transfer.Request request(long amount) {
    return new Transfer.Request("alice", a, b, amount, "EUR", "rent");
  }

  private Transfer.Reply initiate(ActorRef<Transfer.Command> transfer, Transfer.Request request) {
    var probe = testKit.<Transfer.Reply>createTestProbe();
    transfer.tell(new Transfer.Initiate(request, probe.ref()));
    return probe.expectMessageClass(Transfer.Reply.class, WAIT);
  }

  private static Transfer.View view(Transfer.Reply reply) {
    return assertInstanceOf(Transfer.TransferReply.class, reply).transfer();
  }

  /** Every event the transfer persisted survives Jackson CBOR, as it must in the Cassandra journal. */
  private void assertEventsSerialize(String transferId) {
    var serialization = new SerializationTestKit(testKit.system());
    var events = PersistenceTestKit.create(testKit.system()).persistedInStorage("Transfer|" + transferId);
    assertFalse(events.isEmpty());
    for (var event : events) serialization.verifySerialization(event, true);
  }

  private void awaitBalance(String id, String owner, long expected) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (balance(id, owner) != expected && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(expected, balance(id, owner));
  }

  // ---- outcomes ---------------------------------------------------------------------------------------------

  @Test
  void completesAndMovesTheMoneyOnce() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var view = view(initiate(transfer("t1", SETTINGS, Clock.systemUTC()), request(30)));
    assertEquals(Transfer.Status.COMPLETED, view.status());
    assertEquals(java.util.List.of("requested", "debited", "credited"),
        view.steps().stream().map(Transfer.Step::name).toList());
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
    assertEventsSerialize("t1");
  }

  @Test
  void recoversFromItsEventsAloneWithoutAskingTheSnapshotStore() {
    // A transfer never snapshots, so its recovery skips the snapshot store (one Cassandra read less per transfer).
    // Were the store asked, every read of this transfer fails here, so each restart's recovery would fail too.
    var snapshots = SnapshotTestKit.create(testKit.system());
    open(a, "alice", 100);
    open(b, "bob", 0);
    var id = "t-" + UUID.randomUUID();
    var persistenceId = PersistenceId.of(Transfer.ENTITY_KEY.name(), id).id();
    try {
      snapshots.failNextNReads(persistenceId, 1000);
      var first = transfer(id, SETTINGS, Clock.systemUTC());
      assertEquals(Transfer.Status.COMPLETED, view(initiate(first, request(30))).status());
      testKit.stop(first);

      var probe = testKit.<Transfer.Reply>createTestProbe();
      transfer(id, SETTINGS, Clock.systemUTC()).tell(new Transfer.Get("alice", probe.ref()));
      var recovered = view(probe.expectMessageClass(Transfer.Reply.class, WAIT));
      assertEquals(Transfer.Status.COMPLETED, recovered.status());
      assertEquals(30, recovered.request().amount());
    } finally {
      snapshots.resetPolicy();
    }
  }

  @Test
  void aRefusedDebitFailsAndMovesNothing() {
    open(a, "alice", 10);
    open(b, "bob", 0);
    var view = view(initiate(transfer("t2", SETTINGS, Clock.systemUTC()), request(30)));
    assertEquals(Transfer.Status.FAILED, view.status());
    assertEquals(Rejection.Kind.UNPROCESSABLE, view.rejection().kind());
    assertTrue(view.detail().contains("insufficient funds"), view.detail());
    assertEquals(10, balance(a, "alice"));
    assertEquals(0, balance(b, "bob"));
  }

  @Test
  void aDebitFromSomeoneElsesAccountIsForbidden() {
    open(a, "mallory", 100);
    open(b, "bob", 0);
    var view = view(initiate(transfer("t3", SETTINGS, Clock.systemUTC()), request(30)));
    assertEquals(Transfer.Status.FAILED, view.status());
    assertEquals(Rejection.Kind.FORBIDDEN, view.rejection().kind());
    assertEquals(100, balance(a, "mallory"));
  }

  @Test
  void aRefusedCreditIsRefundedToTheSource() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    assertInstanceOf(LedgerAccount.AccountReply.class, account(b, r -> new LedgerAccount.Close("bob", r)));
    var view = view(initiate(transfer("t4", SETTINGS, Clock.systemUTC()), request(30)));
    assertEquals(Transfer.Status.COMPENSATED, view.status());
    assertTrue(view.detail().contains("closed"), view.detail());
    assertEquals(java.util.List.of("requested", "debited", "credit refused", "refunded"),
        view.steps().stream().map(Transfer.Step::name).toList());
    assertEquals(100, balance(a, "alice"));
    assertEquals(0, balance(b, "bob"));
    assertEventsSerialize("t4");
  }

  // ---- idempotency ------------------------------------------------------------------------------------------

  @Test
  void theSameRequestAgainIsAnsweredAsBeforeAndAnotherRequestUnderTheKeyIsAConflict() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("t5", SETTINGS, Clock.systemUTC());
    var first = view(initiate(transfer, request(30)));
    var again = assertInstanceOf(Transfer.TransferReply.class, initiate(transfer, request(30)));
    assertTrue(again.replayed());
    assertEquals(first, again.transfer());
    var other = assertInstanceOf(Transfer.Rejected.class, initiate(transfer, request(31)));
    assertEquals(Rejection.Kind.CONFLICT, other.rejection().kind());
    assertEquals(70, balance(a, "alice"));
  }

  @Test
  void onlyTheRequesterSeesATransferAndAnUnknownOneIsNotFound() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("t6", SETTINGS, Clock.systemUTC());
    initiate(transfer, request(30));
    var probe = testKit.<Transfer.Reply>createTestProbe();
    transfer.tell(new Transfer.Get("bob", probe.ref()));
    assertEquals(Rejection.Kind.FORBIDDEN,
        probe.expectMessageClass(Transfer.Rejected.class, WAIT).rejection().kind());
    transfer.tell(new Transfer.Get("alice", probe.ref()));
    assertEquals(Transfer.Status.COMPLETED, view(probe.expectMessageClass(Transfer.Reply.class, WAIT)).status());
    transfer("t-none", SETTINGS, Clock.systemUTC()).tell(new Transfer.Get("alice", probe.ref()));
    assertEquals(Rejection.Kind.NOT_FOUND,
        probe.expectMessageClass(Transfer.Rejected.class, WAIT).rejection().kind());
  }

  @Test
  void invalidRequestsPersistNothing() {
    var transfer = transfer("t7", SETTINGS, Clock.systemUTC());
    assertInstanceOf(Transfer.Rejected.class, initiate(transfer, request(0)));
    assertInstanceOf(Transfer.Rejected.class,
        initiate(transfer, new Transfer.Request("alice", a, a, 10, "EUR", null)));
    assertTrue(PersistenceTestKit.create(testKit.system()).persistedInStorage("Transfer|t7").isEmpty());
  }

  // ---- failures in between ----------------------------------------------------------------------------------

  @Test
  void aLostAnswerIsAskedAgainAndTheLegAppliesOnce() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    // The first debit reaches the account, but its answer is lost.
    var lost = new java.util.concurrent.atomic.AtomicBoolean();
    Predicate<Object> firstDebit = cmd -> cmd instanceof LedgerAccount.Debit && lost.compareAndSet(false, true);
    var transfer = testKit.spawn(Transfer.create("t8", dropping(firstDebit), SETTINGS, Clock.systemUTC(), self -> {}));
    assertEquals(Transfer.Status.COMPLETED, view(initiate(transfer, request(30))).status());
    assertTrue(lost.get());
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void aCrashBetweenDebitAndCreditCompletesOnRecoveryWithoutASecondDebit() throws Exception {
    open(a, "alice", 100);
    open(b, "bob", 0);
    // Credits vanish (never delivered, never answered): the saga is stuck right after the debit.
    Predicate<Object> credits = cmd -> cmd instanceof LedgerAccount.Credit;
    var quick = new Transfer.Settings(Duration.ofMillis(300), WAIT, Duration.ofSeconds(30), Duration.ofSeconds(30));
    var crashing = testKit.spawn(Transfer.create("t9", swallowing(credits), quick, Clock.systemUTC(), self -> {}));
    var pending = view(initiate(crashing, request(30)));
    assertEquals(Transfer.Status.PENDING, pending.status()); // what a caller sees as 202 Accepted
    awaitBalance(a, "alice", 70);
    testKit.stop(crashing);

    // A new incarnation (as after a node crash) recovers from the journal and finishes the saga.
    var recovered = transfer("t9", SETTINGS, Clock.systemUTC());
    var probe = testKit.<Transfer.Reply>createTestProbe();
    awaitBalance(b, "bob", 30);
    recovered.tell(new Transfer.Get("alice", probe.ref()));
    assertEquals(Transfer.Status.COMPLETED, view(probe.expectMessageClass(Transfer.Reply.class, WAIT)).status());
    assertEquals(70, balance(a, "alice"));
  }

  @Test
  void aRetriedLegTheAccountHasForgottenParksTheTransfer() {
    // The account remembers one operation. The first debit is applied but its answer is lost, and a deposit comes in
    // before the retry: the account no longer remembers the debit and must not guess whether it was applied.
    var remembersOne = testKit.spawn(LedgerAccount.create(a, new LedgerAccount.Memory(1, Duration.ZERO), Clock.systemUTC()));
    accountActors.put(a, remembersOne);
    open(a, "alice", 100);
    open(b, "bob", 0);
    var first = new java.util.concurrent.atomic.AtomicBoolean(true);
    Transfer.Accounts forgetting = (id, command) -> {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      boolean debit = command.apply(probe.ref()) instanceof LedgerAccount.Debit;
      if (!(debit && first.compareAndSet(true, false))) return accounts.ask(id, command);
      return accounts.ask(id, command)
          .thenCompose(applied -> accounts.ask(id, r -> new LedgerAccount.Deposit("alice", 1, "in-between", r)))
          .thenCompose(deposited -> CompletableFuture.failedFuture(new TimeoutException("answer lost")));
    };
    var transfer = testKit.spawn(Transfer.create("t10", forgetting, SETTINGS, Clock.systemUTC(), self -> {}));
    var view = view(initiate(transfer, request(30)));
    assertEquals(Transfer.Status.PARKED, view.status());
    assertTrue(view.detail().contains("cannot tell"), view.detail());
    assertEquals(71, balance(a, "alice"));
    assertEquals(0, balance(b, "bob"));
  }

  @Test
  void aFirstAttemptIsAppliedEvenByAnAccountThatForgetsFast() {
    // A busy account forgets within seconds; a leg sent for the first time cannot have been applied before.
    var remembersOne = testKit.spawn(LedgerAccount.create(a, new LedgerAccount.Memory(1, Duration.ZERO), Clock.systemUTC()));
    accountActors.put(a, remembersOne);
    open(a, "alice", 100);
    assertInstanceOf(LedgerAccount.MovementReply.class,
        account(a, r -> new LedgerAccount.Deposit("alice", 1, "second", r)));
    open(b, "bob", 0);
    var view = view(initiate(transfer("t11", SETTINGS, Clock.systemUTC()), request(30)));
    assertEquals(Transfer.Status.COMPLETED, view.status());
    assertEquals(71, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void copiesSentAtTheSameMomentAreAnsweredAsReplaysAndOneAsTheOriginal() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("t-dup-" + UUID.randomUUID(), SETTINGS, Clock.systemUTC());
    var probes = new java.util.ArrayList<org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Transfer.Reply>>();
    for (int i = 0; i < 5; i++) {
      var probe = testKit.<Transfer.Reply>createTestProbe();
      transfer.tell(new Transfer.Initiate(request(30), probe.ref()));
      probes.add(probe);
    }
    var replayed = probes.stream().map(p -> assertInstanceOf(Transfer.TransferReply.class,
        p.expectMessageClass(Transfer.Reply.class, WAIT)).replayed()).toList();
    assertEquals(1, replayed.stream().filter(r -> !r).count(), "exactly one original: " + replayed);
    assertEquals(70, balance(a, "alice"), "applied once");
  }

  // ---- passivation ------------------------------------------------------------------------------------------

  @Test
  void anUnknownIdAskedAboutAnswersNotFoundAndAsksToLeaveMemory() {
    var passivations = new java.util.concurrent.atomic.AtomicInteger();
    var unknown = testKit.spawn(Transfer.create("t-" + UUID.randomUUID(), accounts, SETTINGS, Clock.systemUTC(),
        self -> passivations.incrementAndGet()));
    var probe = testKit.<Transfer.Reply>createTestProbe();
    unknown.tell(new Transfer.Inspect(probe.ref()));
    var reply = assertInstanceOf(Transfer.Rejected.class, probe.expectMessageClass(Transfer.Reply.class, WAIT));
    assertEquals(io.plaza.platform.Rejection.Kind.NOT_FOUND, reply.rejection().kind());
    assertEquals(1, passivations.get(), "an unknown id must not stay (remembered) in memory");
    // Sharding's stop message then stops it.
    unknown.tell(new Transfer.Stop());
    probe.expectTerminated(unknown, WAIT);
  }

  @Test
  void aStopAfterItsOwnPassivationWaitsForASagaThatSlippedIn() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("t-" + UUID.randomUUID(), SETTINGS, Clock.systemUTC());
    var probe = testKit.<Transfer.Reply>createTestProbe();
    // An unknown id asked about asks to be passivated; an Initiate already in the mailbox runs before the Stop.
    transfer.tell(new Transfer.Inspect(probe.ref()));
    transfer.tell(new Transfer.Initiate(request(30), probe.ref()));
    transfer.tell(new Transfer.Stop());
    assertInstanceOf(Transfer.Rejected.class, probe.expectMessageClass(Transfer.Reply.class, WAIT));
    assertEquals(Transfer.Status.COMPLETED, view(probe.expectMessageClass(Transfer.Reply.class, WAIT)).status());
    probe.expectTerminated(transfer, WAIT);
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void aHandOffStopsARunningSagaAtOnceAndItResumesWhenStartedAgain() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var id = "t-" + UUID.randomUUID();
    var accountsThatNeverAnswer = (Transfer.Accounts) (account, command) -> new java.util.concurrent.CompletableFuture<>();
    var stuck = testKit.spawn(Transfer.create(id, accountsThatNeverAnswer, SETTINGS, Clock.systemUTC(), self -> {}));
    var probe = testKit.<Transfer.Reply>createTestProbe();
    stuck.tell(new Transfer.Initiate(request(30), probe.ref()));
    // Answered "still running" when the completion wait is over.
    assertEquals(Transfer.Status.PENDING, view(probe.expectMessageClass(Transfer.Reply.class, WAIT.multipliedBy(2)))
        .status());
    // A rebalance's hand-off: the saga stays remembered, so it stops now and carries on where it is started again.
    stuck.tell(new Transfer.Stop());
    probe.expectTerminated(stuck, WAIT);
    var resumed = transfer(id, SETTINGS, Clock.systemUTC());
    var done = testKit.<Transfer.Reply>createTestProbe();
    long deadline = System.nanoTime() + WAIT.toNanos();
    Transfer.Status status;
    do {
      resumed.tell(new Transfer.Get("alice", done.ref()));
      status = view(done.expectMessageClass(Transfer.Reply.class, WAIT)).status();
    } while (status != Transfer.Status.COMPLETED && System.nanoTime() < deadline);
    assertEquals(Transfer.Status.COMPLETED, status);
    assertEquals(30, balance(b, "bob"));
  }

  // ---- pending transfers (holds) ----------------------------------------------------------------------------

  private Transfer.Request pendingRequest(long amount, long holdSeconds) {
    return new Transfer.Request("alice", a, b, amount, "EUR", "hotel", holdSeconds);
  }

  private Transfer.Reply tell(ActorRef<Transfer.Command> transfer,
      Function<ActorRef<Transfer.Reply>, Transfer.Command> command) {
    var probe = testKit.<Transfer.Reply>createTestProbe();
    transfer.tell(command.apply(probe.ref()));
    return probe.expectMessageClass(Transfer.Reply.class, WAIT);
  }

  private long held(String id, String owner) {
    return fixture.summary(id, owner).held();
  }

  private static Rejection.Kind refused(Transfer.Reply reply) {
    return assertInstanceOf(Transfer.Rejected.class, reply).rejection().kind();
  }

  @Test
  void postingWithoutAnAmountPostsWhatIsHeldAndARetryReplays() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("p-" + UUID.randomUUID(), SETTINGS, Clock.systemUTC());
    assertEquals(Transfer.Status.HELD, view(initiate(transfer, pendingRequest(30, 3600))).status());
    var posted = view(tell(transfer, r -> new Transfer.PostPending("alice", Transfer.PostPending.HELD_AMOUNT, r)));
    assertEquals(30L, posted.postedAmount());
    var again = assertInstanceOf(Transfer.TransferReply.class,
        tell(transfer, r -> new Transfer.PostPending("alice", Transfer.PostPending.HELD_AMOUNT, r)));
    assertTrue(again.replayed());
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void aPendingTransferHoldsThenPostsASmallerAmountOnce() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("p1", SETTINGS, Clock.systemUTC());
    var held = view(initiate(transfer, pendingRequest(30, 3600)));
    assertEquals(Transfer.Status.HELD, held.status());
    assertEquals(100, balance(a, "alice"));
    assertEquals(30, held(a, "alice"));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(tell(transfer, r -> new Transfer.PostPending("bob", 20, r))));
    assertEquals(Rejection.Kind.UNPROCESSABLE,
        refused(tell(transfer, r -> new Transfer.PostPending("alice", 31, r))));

    var posted = view(tell(transfer, r -> new Transfer.PostPending("alice", 20, r)));
    assertEquals(Transfer.Status.COMPLETED, posted.status());
    assertEquals(20L, posted.postedAmount());
    assertEquals(java.util.List.of("requested", "held", "post requested", "debited", "credited"),
        posted.steps().stream().map(Transfer.Step::name).toList());
    assertEquals(80, balance(a, "alice"));
    assertEquals(0, held(a, "alice"));
    assertEquals(20, balance(b, "bob"));

    // Posting again: the same amount answers the same, another amount or a void is refused.
    var again = assertInstanceOf(Transfer.TransferReply.class,
        tell(transfer, r -> new Transfer.PostPending("alice", 20, r)));
    assertTrue(again.replayed());
    assertEquals(Rejection.Kind.CONFLICT, refused(tell(transfer, r -> new Transfer.PostPending("alice", 25, r))));
    assertEquals(Rejection.Kind.CONFLICT, refused(tell(transfer, r -> new Transfer.VoidPending("alice", r))));
    assertEquals(80, balance(a, "alice"));
    assertEventsSerialize("p1");
  }

  @Test
  void aVoidedHoldMovesNothingAndCannotBePosted() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("p2", SETTINGS, Clock.systemUTC());
    assertEquals(Transfer.Status.HELD, view(initiate(transfer, pendingRequest(30, 3600))).status());
    var voided = view(tell(transfer, r -> new Transfer.VoidPending("alice", r)));
    assertEquals(Transfer.Status.VOIDED, voided.status());
    assertTrue(assertInstanceOf(Transfer.TransferReply.class,
        tell(transfer, r -> new Transfer.VoidPending("alice", r))).replayed());
    assertEquals(Rejection.Kind.CONFLICT, refused(tell(transfer, r -> new Transfer.PostPending("alice", 30, r))));
    assertEquals(100, balance(a, "alice"));
    assertEquals(0, held(a, "alice"));
    assertEquals(0, balance(b, "bob"));
  }

  @Test
  void aHoldBeyondTheAvailableMoneyIsRefused() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    assertEquals(Transfer.Status.HELD,
        view(initiate(transfer("p3", SETTINGS, Clock.systemUTC()), pendingRequest(80, 3600))).status());
    var refusedHold = view(initiate(transfer("p4", SETTINGS, Clock.systemUTC()), pendingRequest(30, 3600)));
    assertEquals(Transfer.Status.FAILED, refusedHold.status());
    assertTrue(refusedHold.detail().contains("insufficient funds"), refusedHold.detail());
    // Plain transfers see the held money as gone too.
    assertEquals(Transfer.Status.FAILED,
        view(initiate(transfer("p5", SETTINGS, Clock.systemUTC()), request(30))).status());
    assertEquals(80, held(a, "alice"));
  }

  @Test
  void anExpiredHoldIsReleasedByItselfEvenAcrossARestartAndCannotBePosted() throws Exception {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var first = transfer("p6", SETTINGS, Clock.systemUTC());
    assertEquals(Transfer.Status.HELD, view(initiate(first, pendingRequest(30, 2))).status());
    testKit.stop(first); // the node goes away while the transfer is held; its timer goes with it
    Thread.sleep(2_500);
    assertEquals(30, held(a, "alice"));

    // A new incarnation finds the deadline in its journal: it has passed, so the hold is released now.
    var recovered = transfer("p6", SETTINGS, Clock.systemUTC());
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (held(a, "alice") != 0 && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(0, held(a, "alice"));
    var expired = view(tell(recovered, r -> new Transfer.Get("alice", r)));
    assertEquals(Transfer.Status.EXPIRED, expired.status());
    assertEquals(java.util.List.of("requested", "held", "expired", "released"),
        expired.steps().stream().map(Transfer.Step::name).toList());
    var late = assertInstanceOf(Transfer.Rejected.class,
        tell(recovered, r -> new Transfer.PostPending("alice", 30, r)));
    assertTrue(late.rejection().detail().contains("expired"), late.rejection().detail());
    assertEquals(100, balance(a, "alice"));
    assertEventsSerialize("p6");
  }

  @Test
  void postingAPlainTransferIsRefused() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    var transfer = transfer("p7", SETTINGS, Clock.systemUTC());
    initiate(transfer, request(30));
    assertEquals(Rejection.Kind.CONFLICT, refused(tell(transfer, r -> new Transfer.PostPending("alice", 30, r))));
    assertEquals(Rejection.Kind.CONFLICT, refused(tell(transfer, r -> new Transfer.VoidPending("alice", r))));
  }

  /** Delivers every command; the answer to those matching {@code lose} fails as if it timed out. */
  private Transfer.Accounts dropping(Predicate<Object> lose) {
    return (id, command) -> {
      var decided = new java.util.concurrent.atomic.AtomicBoolean();
      return accounts.ask(id, replyTo -> {
        var cmd = command.apply(replyTo);
        decided.set(lose.test(cmd));
        return cmd;
      }).thenCompose(reply -> decided.get()
          ? CompletableFuture.failedFuture(new TimeoutException("answer lost"))
          : CompletableFuture.completedFuture(reply));
    };
  }

  /** Commands matching {@code swallow} never arrive and never get an answer. */
  private Transfer.Accounts swallowing(Predicate<Object> swallow) {
    return (id, command) -> {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      var cmd = command.apply(probe.ref());
      if (swallow.test(cmd)) return new CompletableFuture<>();
      return accounts.ask(id, command);
    };
  }
}
