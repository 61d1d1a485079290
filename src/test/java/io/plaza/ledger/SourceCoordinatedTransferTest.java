package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.HeldJournalWrite;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A transfer its source account coordinates ({@link LedgerAccount.Send}), against real LedgerAccount entities on the
 * in-memory journal: the outcomes, the key as its idempotency record, and the failures in between — a destination
 * that does not answer, a lost answer, a crash between debit and credit, a key a saga may hold.
 */
class SourceCoordinatedTransferTest {

  private static final ActorTestKit testKit = ActorTestKit.create(AccountsFixture.config());
  private static final Duration WAIT = Duration.ofSeconds(5);
  /** A short completion wait, so a test sees PENDING quickly when the destination does not answer. */
  private static final Transfer.Settings SETTINGS =
      new Transfer.Settings(Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ofMillis(50),
          Duration.ofMillis(200));

  private final AccountsFixture fixture = new AccountsFixture(testKit, WAIT,
      new LedgerAccount.Memory(1000, Duration.ofHours(24)), SETTINGS);
  private final String a = "a-" + UUID.randomUUID();
  private final String b = "b-" + UUID.randomUUID();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private Transfer.Request request(long amount) {
    return new Transfer.Request("alice", a, b, amount, "EUR", "rent");
  }

  private LedgerAccount.Reply send(String transferId, Transfer.Request request) {
    return fixture.ask(request.from(), r -> new LedgerAccount.Send(transferId, request, null, false, r));
  }

  private static LedgerAccount.TransferAnswer answer(LedgerAccount.Reply reply) {
    return assertInstanceOf(LedgerAccount.TransferAnswer.class, reply);
  }

  private long balance(String id, String owner) {
    return fixture.summary(id, owner).balance();
  }

  private void awaitBalance(String id, String owner, long expected) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (balance(id, owner) != expected && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(expected, balance(id, owner));
  }

  private List<Object> events(String accountId) {
    return PersistenceTestKit.create(testKit.system()).persistedInStorage("LedgerAccount|" + accountId);
  }

  @Test
  void completesWithoutASagaAndMovesTheMoneyOnce() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    var done = answer(send("t1", request(30)));
    assertFalse(done.replayed());
    assertEquals(Transfer.Status.COMPLETED, done.transfer().status());
    assertEquals(List.of("requested", "debited", "credited"),
        done.transfer().steps().stream().map(Transfer.Step::name).toList());
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));

    // The source's journal holds the request with the debit, then the settlement; every event survives CBOR.
    var events = events(a);
    var debited = assertInstanceOf(LedgerAccount.TransferDebited.class, events.get(events.size() - 2));
    assertEquals(request(30), debited.request());
    var settled = assertInstanceOf(LedgerAccount.TransferSettled.class, events.get(events.size() - 1));
    assertNull(settled.parkedReason());
    var serialization = new SerializationTestKit(testKit.system());
    for (var event : events) serialization.verifySerialization(event, true);
  }

  @Test
  void theCallerHearsCompletedOnceTheCreditIsPersistedWithoutWaitingForTheSettlementWrite() throws Exception {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    var journal = PersistenceTestKit.create(testKit.system());
    var settlement = new HeldJournalWrite("LedgerAccount|" + a, false, LedgerAccount.TransferSettled.class);
    journal.withPolicy(settlement);
    try {
      var caller = CompletableFuture.supplyAsync(() -> send("t1", request(30)));
      settlement.awaitHeld();
      // The settlement write is still held: the answer came from the persisted credit.
      var done = answer(caller.get(5, TimeUnit.SECONDS));
      assertEquals(Transfer.Status.COMPLETED, done.transfer().status());
      assertFalse(done.replayed());
      assertEquals(1, events(b).stream().filter(LedgerAccount.TransferCredited.class::isInstance).count());
      assertFalse(events(a).stream().anyMatch(LedgerAccount.TransferSettled.class::isInstance));

      // A retry meanwhile waits for the settlement and hears the same outcome as a replay.
      var retry = CompletableFuture.supplyAsync(() -> send("t1", request(30)));
      Thread.sleep(200);
      assertFalse(retry.isDone(), "answered before the settlement was written");
      settlement.release();
      var again = answer(retry.get(5, TimeUnit.SECONDS));
      assertTrue(again.replayed());
      assertEquals(Transfer.Status.COMPLETED, again.transfer().status());
    } finally {
      settlement.release();
      journal.resetPolicy();
    }
    assertInstanceOf(LedgerAccount.TransferSettled.class, events(a).get(events(a).size() - 1));
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void theKeyAnswersRetriesWithTheOutcomeAndRefusesAnotherRequest() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    answer(send("t1", request(30)));
    var again = answer(send("t1", request(30)));
    assertTrue(again.replayed());
    assertEquals(Transfer.Status.COMPLETED, again.transfer().status());
    var other = assertInstanceOf(LedgerAccount.Rejected.class, send("t1", request(31)));
    assertEquals(Rejection.Kind.CONFLICT, other.rejection().kind());
    assertEquals(70, balance(a, "alice"));
    assertEquals(30, balance(b, "bob"));
  }

  @Test
  void aRefusedDebitIsFinalForItsKeyEvenOnceTheMoneyIsThere() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    var refused = answer(send("t1", request(101)));
    assertEquals(Transfer.Status.FAILED, refused.transfer().status());
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused.transfer().rejection().kind());
    assertTrue(refused.transfer().detail().contains("insufficient funds"), refused.toString());
    assertInstanceOf(LedgerAccount.MovementReply.class,
        fixture.ask(a, r -> new LedgerAccount.Deposit("alice", 50, "more", r)));
    var again = answer(send("t1", request(101)));
    assertTrue(again.replayed());
    assertEquals(Transfer.Status.FAILED, again.transfer().status());
    assertEquals(150, balance(a, "alice"));
    assertEquals(0, balance(b, "bob"));
  }

  @Test
  void aPrecheckRefusalLeavesNoTraceButARetryOfAMadeTransferGetsItsOutcome() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    var precheck = Rejection.unprocessable("destination account is closed");
    var refused = assertInstanceOf(LedgerAccount.Rejected.class,
        fixture.ask(a, r -> new LedgerAccount.Send("t1", request(30), precheck, false, r)));
    assertEquals(precheck, refused.rejection());
    assertEquals(100, balance(a, "alice"));

    answer(send("t2", request(30)));
    // The destination closed since (its pre-check now refuses): the retry still gets the transfer's own answer.
    var retry = answer(fixture.ask(a, r -> new LedgerAccount.Send("t2", request(30), precheck, false, r)));
    assertTrue(retry.replayed());
    assertEquals(Transfer.Status.COMPLETED, retry.transfer().status());
  }

  @Test
  void theSourceChecksItselfFirstAndLeavesNoTraceOfARefusal() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    var destinationClosed = Rejection.unprocessable("destination account is closed");
    var notYours = assertInstanceOf(LedgerAccount.Rejected.class, fixture.ask(a, r -> new LedgerAccount.Send("t1",
        new Transfer.Request("mallory", a, b, 30, "EUR", ""), destinationClosed, false, r)));
    assertEquals(Rejection.Kind.FORBIDDEN, notYours.rejection().kind());
    var otherCurrency = assertInstanceOf(LedgerAccount.Rejected.class, fixture.ask(a, r -> new LedgerAccount.Send(
        "t2", new Transfer.Request("alice", a, b, 30, "USD", ""), null, false, r)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, otherCurrency.rejection().kind());
    assertEquals("currency USD does not match account " + a + "'s EUR", otherCurrency.rejection().detail());
    // Neither left a trace: the keys are free for a corrected request.
    assertEquals(Transfer.Status.COMPLETED, answer(send("t2", request(30))).transfer().status());
    assertEquals(70, balance(a, "alice"));
  }

  @Test
  void aCreditTheDestinationRefusesIsRefundedAndTheTransferCompensated() {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    assertInstanceOf(LedgerAccount.AccountReply.class, fixture.ask(b, r -> new LedgerAccount.Close("bob", r)));
    var compensated = answer(send("t1", request(30)));
    assertEquals(Transfer.Status.COMPENSATED, compensated.transfer().status());
    assertTrue(compensated.transfer().detail().contains("closed"), compensated.toString());
    assertEquals(100, balance(a, "alice"));
    var retry = answer(send("t1", request(30)));
    assertTrue(retry.replayed());
    assertEquals(Transfer.Status.COMPENSATED, retry.transfer().status());
    var refunded = assertInstanceOf(LedgerAccount.TransferRefunded.class, events(a).get(events(a).size() - 1));
    assertTrue(refunded.creditRefusal().contains("closed"));
  }

  @Test
  void aDestinationThatDoesNotAnswerIsCreditedOnceItDoesAndTheCallerHearsPendingMeanwhile() throws Exception {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    fixture.down.add(b);
    var pending = answer(send("t1", request(30)));
    assertEquals(Transfer.Status.PENDING, pending.transfer().status(), "answered after the completion wait");
    assertEquals(70, balance(a, "alice"));
    var retried = answer(send("t1", request(30)));
    assertTrue(retried.replayed());
    assertEquals(Transfer.Status.PENDING, retried.transfer().status());

    fixture.down.remove(b);
    awaitBalance(b, "bob", 30);
    assertEquals(Transfer.Status.COMPLETED, answer(send("t1", request(30))).transfer().status());
    assertEquals(70, balance(a, "alice"));
  }

  @Test
  void aLostAnswerIsAskedAgainAndTheCreditAppliesOnce() throws Exception {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    fixture.loseNextAnswer.add(b);
    var done = answer(send("t1", request(30)));
    assertEquals(Transfer.Status.COMPLETED, done.transfer().status());
    assertEquals(30, balance(b, "bob"));
    assertEquals(1, events(b).stream().filter(LedgerAccount.TransferCredited.class::isInstance).count());
  }

  /** Records the events of every journal write of one persistence id, by type, write by write. */
  private static final class RecordedWrites implements
      org.apache.pekko.persistence.testkit.ProcessingPolicy<org.apache.pekko.persistence.testkit.JournalOperation> {
    final String persistenceId;
    final List<List<String>> writes = new java.util.concurrent.CopyOnWriteArrayList<>();

    RecordedWrites(String persistenceId) {
      this.persistenceId = persistenceId;
    }

    @Override
    public org.apache.pekko.persistence.testkit.ProcessingResult tryProcess(String pid,
        org.apache.pekko.persistence.testkit.JournalOperation operation) {
      if (pid.equals(persistenceId) && operation instanceof org.apache.pekko.persistence.testkit.WriteEvents write) {
        writes.add(write.getBatch().stream().map(e -> (e instanceof org.apache.pekko.persistence.journal.Tagged t
            ? t.payload() : e).getClass().getSimpleName()).toList());
      }
      return org.apache.pekko.persistence.testkit.ProcessingSuccess.getInstance();
    }
  }

  /** Accounts a (100) and b (0) whose settlements wait {@code delay} for a write to ride along with. */
  private AccountsFixture accountsWithSettlementDelay(Duration delay) {
    var delayed = new AccountsFixture(testKit, WAIT, new LedgerAccount.Memory(1000, Duration.ofHours(24)),
        SETTINGS.withSettlementDelay(delay));
    delayed.open(a, "alice", 100);
    delayed.open(b, "bob", 0);
    return delayed;
  }

  private static LedgerAccount.TransferAnswer send(AccountsFixture via, String transferId, Transfer.Request request) {
    return answer(via.ask(request.from(), r -> new LedgerAccount.Send(transferId, request, null, false, r)));
  }

  @Test
  void aSettlementRidesAlongWithTheSourcesNextWriteOrGoesAloneOnceItsDelayIsOver() throws Exception {
    var delayed = accountsWithSettlementDelay(Duration.ofSeconds(2));
    var journal = PersistenceTestKit.create(testKit.system());
    var recorded = new RecordedWrites("LedgerAccount|" + a);
    journal.withPolicy(recorded);
    try {
      var first = send(delayed, "t1", request(30));
      assertEquals(Transfer.Status.COMPLETED, first.transfer().status());
      assertEquals(List.of(List.of("TransferDebited")), recorded.writes, "the settlement waits");
      // A retry meanwhile hears the outcome at once.
      var retry = send(delayed, "t1", request(30));
      assertTrue(retry.replayed());
      assertEquals(Transfer.Status.COMPLETED, retry.transfer().status());

      var second = send(delayed, "t2", request(20));
      assertEquals(Transfer.Status.COMPLETED, second.transfer().status());
      assertEquals(List.of("TransferDebited", "TransferSettled"), recorded.writes.get(1),
          "t1's settlement rode along with t2's debit: " + recorded.writes);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (recorded.writes.size() < 3 && System.nanoTime() < deadline) Thread.sleep(20);
      assertEquals(List.of(List.of("TransferDebited"), List.of("TransferDebited", "TransferSettled"),
          List.of("TransferSettled")), recorded.writes, "t2's settlement went alone once its delay was over");
    } finally {
      journal.resetPolicy();
    }
    var settled = events(a).stream().filter(LedgerAccount.TransferSettled.class::isInstance)
        .map(e -> ((LedgerAccount.TransferSettled) e).transferId()).toList();
    assertEquals(List.of("t1", "t2"), settled);
    assertEquals(50, delayed.summary(a, "alice").balance());
    assertEquals(50, delayed.summary(b, "bob").balance());
  }

  @Test
  void aSettlementLostWithTheSourcesCrashIsWrittenByTheNextIncarnationAndTheMoneyMovesOnce() throws Exception {
    var delayed = accountsWithSettlementDelay(Duration.ofSeconds(30));
    var done = send(delayed, "t1", request(30));
    assertEquals(Transfer.Status.COMPLETED, done.transfer().status());
    assertFalse(events(a).stream().anyMatch(LedgerAccount.TransferSettled.class::isInstance));
    delayed.stop(a); // its node dies with the settlement still waiting

    // The next incarnation delivers the credit again; the destination answers it from memory, and the settlement
    // waits for this incarnation's next write. A retry that arrives before that answer hears PENDING, as a client
    // would, and asks again.
    long retryDeadline = System.nanoTime() + WAIT.toNanos();
    var retried = send(delayed, "t1", request(30)).transfer().status();
    while (retried == Transfer.Status.PENDING && System.nanoTime() < retryDeadline) {
      Thread.sleep(20);
      retried = send(delayed, "t1", request(30)).transfer().status();
    }
    assertEquals(Transfer.Status.COMPLETED, retried);
    var next = send(delayed, "t2", request(20));
    assertEquals(Transfer.Status.COMPLETED, next.transfer().status());
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (events(a).stream().noneMatch(LedgerAccount.TransferSettled.class::isInstance)
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(events(a).stream().anyMatch(e -> e instanceof LedgerAccount.TransferSettled s
        && s.transferId().equals("t1")), events(a).toString());
    assertEquals(1, events(b).stream().filter(e -> e instanceof LedgerAccount.TransferCredited c
        && c.transferId().equals("t1")).count(), "credited once");
    assertEquals(50, delayed.summary(a, "alice").balance());
    assertEquals(50, delayed.summary(b, "bob").balance());
  }

  @Test
  void aCrashBetweenDebitAndCreditIsFinishedByTheNextIncarnationAlone() throws Exception {
    fixture.open(a, "alice", 100);
    fixture.open(b, "bob", 0);
    fixture.down.add(b);
    assertEquals(Transfer.Status.PENDING, answer(send("t1", request(30))).transfer().status());
    fixture.stop(a); // the source's node dies with the credit unanswered

    fixture.down.remove(b);
    // Any message starts the account again (as sharding does on the next request, or a sweep of unsettled rows);
    // its recovery delivers the credit it still owes, nobody retries the transfer.
    assertEquals(70, balance(a, "alice"));
    awaitBalance(b, "bob", 30);
    var events = events(a);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!(events.get(events.size() - 1) instanceof LedgerAccount.TransferSettled)
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
      events = events(a);
    }
    assertInstanceOf(LedgerAccount.TransferSettled.class, events.get(events.size() - 1));
    assertEquals(Transfer.Status.COMPLETED, answer(send("t1", request(30))).transfer().status());
    assertEquals(1, events(b).stream().filter(LedgerAccount.TransferCredited.class::isInstance).count());
  }

  @Test
  void copiesOfOneRequestSentAtOnceMoveMoneyOnceAndAllButOneAreReplays() {
    fixture.open(a, "alice", 1000);
    fixture.open(b, "bob", 0);
    var probes = new ArrayList<TestProbe<LedgerAccount.Reply>>();
    var source = fixture.actor(a);
    for (int i = 0; i < 8; i++) {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      probes.add(probe);
      source.tell(new LedgerAccount.Send("t1", request(100), null, false, probe.getRef()));
    }
    int originals = 0;
    for (var probe : probes) {
      var reply = answer(probe.receiveMessage(WAIT));
      assertEquals(Transfer.Status.COMPLETED, reply.transfer().status());
      if (!reply.replayed()) originals++;
    }
    assertEquals(1, originals);
    assertEquals(900, balance(a, "alice"));
    assertEquals(100, balance(b, "bob"));
  }

  @Test
  void aKeyWhoseSagaDebitTheAccountRemembersOrMayHaveForgottenGoesToTheSaga() {
    var forgetful = new AccountsFixture(testKit, WAIT, new LedgerAccount.Memory(2, Duration.ofHours(24)), SETTINGS);
    forgetful.open(a, "alice", 100);
    forgetful.open(b, "bob", 0);
    var at = java.time.Instant.now();
    // A saga's debit under "s1" (made before accounts coordinated transfers): the account remembers it.
    assertInstanceOf(LedgerAccount.MovementReply.class,
        forgetful.ask(a, r -> new LedgerAccount.Debit("s1", "alice", b, 10, "EUR", at, false, r)));
    assertInstanceOf(LedgerAccount.UseSaga.class,
        forgetful.ask(a, r -> new LedgerAccount.Send("s1", request(10), null, false, r)));
    // Two more operations push it out of a memory of two: any unknown key may now be a saga's.
    forgetful.ask(a, r -> new LedgerAccount.Deposit("alice", 1, "d1", r));
    forgetful.ask(a, r -> new LedgerAccount.Deposit("alice", 1, "d2", r));
    assertInstanceOf(LedgerAccount.UseSaga.class,
        forgetful.ask(a, r -> new LedgerAccount.Send("t9", request(10), null, false, r)));
    // The caller asked the saga entity and it knows no such transfer: the account goes ahead.
    var done = answer(forgetful.ask(a, r -> new LedgerAccount.Send("t9", request(10), null, true, r)));
    assertEquals(Transfer.Status.COMPLETED, done.transfer().status());
    assertEquals(82, forgetful.summary(a, "alice").balance());
  }
}
