package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Linked transfers against real LedgerAccount entities on the in-memory journal: all legs or none. */
class TransferBatchTest {

  private static final ActorTestKit testKit = ActorTestKit.create(AccountsFixture.config());
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Transfer.Settings SETTINGS =
      new Transfer.Settings(Duration.ofSeconds(3), WAIT, Duration.ofMillis(50), Duration.ofMillis(200));

  private final AccountsFixture fixture = new AccountsFixture(testKit, WAIT);
  private final Transfer.Accounts accounts = fixture.accounts;
  private final String a = "a-" + UUID.randomUUID();
  private final String b = "b-" + UUID.randomUUID();
  private final String c = "c-" + UUID.randomUUID();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private LedgerAccount.Reply account(String id, Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> cmd) {
    return fixture.ask(id, cmd);
  }

  private void open(String id, String owner, long deposit) {
    fixture.open(id, owner, deposit);
  }

  private LedgerAccount.Summary summary(String id, String owner) {
    return fixture.summary(id, owner);
  }

  private TransferBatch.Reply initiate(ActorRef<TransferBatch.Command> batch, TransferBatch.Request request) {
    var probe = testKit.<TransferBatch.Reply>createTestProbe();
    batch.tell(new TransferBatch.Initiate(request, probe.ref()));
    return probe.expectMessageClass(TransferBatch.Reply.class, WAIT);
  }

  private ActorRef<TransferBatch.Command> batch(String id, Transfer.Accounts via) {
    return testKit.spawn(TransferBatch.create(id, via, SETTINGS, Clock.systemUTC(), self -> {}));
  }

  /** Alice pays Bob 30 and Carol {@code toCarol}, in one batch. */
  private TransferBatch.Request request(long toCarol) {
    return new TransferBatch.Request("alice", List.of(
        new TransferBatch.Leg(a, b, 30, "EUR", "one"),
        new TransferBatch.Leg(a, c, toCarol, "EUR", "two")));
  }

  @Test
  void allLegsTakeEffectTogether() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    open(c, "carol", 0);
    var reply = assertInstanceOf(TransferBatch.BatchReply.class, initiate(batch("b1", accounts), request(50)));
    assertEquals(TransferBatch.Status.COMPLETED, reply.batch().status());
    assertEquals(List.of("requested", "reserved", "committed"),
        reply.batch().steps().stream().map(Transfer.Step::name).toList());
    assertEquals(20, summary(a, "alice").balance());
    assertEquals(0, summary(a, "alice").held());
    assertEquals(30, summary(b, "bob").balance());
    assertEquals(50, summary(c, "carol").balance());
    // Each leg is one debit and one credit under its own leg id.
    var debits = PersistenceTestKit.create(testKit.system()).persistedInStorage("LedgerAccount|" + a).stream()
        .filter(e -> e instanceof LedgerAccount.TransferDebited).map(e -> ((LedgerAccount.TransferDebited) e)
            .transferId()).toList();
    assertEquals(List.of("b1:0", "b1:1"), debits.stream().sorted().toList());
    var serialization = new SerializationTestKit(testKit.system());
    for (var event : PersistenceTestKit.create(testKit.system()).persistedInStorage("TransferBatch|b1")) {
      serialization.verifySerialization(event, true);
    }
  }

  @Test
  void copiesSentAtTheSameMomentAreAnsweredAsReplaysAndOneAsTheOriginal() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    open(c, "carol", 0);
    var batch = batch("b-dup-" + UUID.randomUUID(), accounts);
    var probes = new java.util.ArrayList<org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<TransferBatch.Reply>>();
    for (int i = 0; i < 5; i++) {
      var probe = testKit.<TransferBatch.Reply>createTestProbe();
      batch.tell(new TransferBatch.Initiate(request(50), probe.ref()));
      probes.add(probe);
    }
    var replayed = probes.stream().map(p -> assertInstanceOf(TransferBatch.BatchReply.class,
        p.expectMessageClass(TransferBatch.Reply.class, WAIT)).replayed()).toList();
    assertEquals(1, replayed.stream().filter(r -> !r).count(), "exactly one original: " + replayed);
    assertEquals(20, summary(a, "alice").balance(), "applied once");
  }

  @Test
  void oneRefusedLegMeansNoLegTakesEffect() {
    open(a, "alice", 100);
    open(b, "bob", 0);
    open(c, "carol", 0);
    // 30 + 80 > 100: the second hold is refused, so the first leg (which alone would fit) must not happen either.
    var reply = assertInstanceOf(TransferBatch.BatchReply.class, initiate(batch("b2", accounts), request(80)));
    assertEquals(TransferBatch.Status.FAILED, reply.batch().status());
    assertEquals(Rejection.Kind.UNPROCESSABLE, reply.batch().rejection().kind());
    assertTrue(reply.batch().detail().contains("insufficient funds"), reply.batch().detail());
    var alice = summary(a, "alice");
    assertEquals(100, alice.balance());
    assertEquals(0, alice.held());
    assertEquals(0, summary(b, "bob").balance());
    assertEquals(0, summary(c, "carol").balance());
    // The destinations no longer expect anything: they can close.
    assertInstanceOf(LedgerAccount.AccountReply.class, account(b, r -> new LedgerAccount.Close("bob", r)));
  }

  @Test
  void aDestinationCannotCloseWhileItsCreditIsReservedAndLostAnswersApplyOnce() throws Exception {
    open(a, "alice", 100);
    open(b, "bob", 0);
    open(c, "carol", 0);
    // Every first answer from an account is lost; the batch asks again, and the accounts apply each step once.
    var seen = ConcurrentHashMap.<String>newKeySet();
    Transfer.Accounts losing = (id, command) -> accounts.ask(id, command).thenCompose(reply -> {
      var key = id + reply.getClass().getSimpleName() + (reply instanceof LedgerAccount.MovementReply m
          ? m.operation().operationId() : "");
      return seen.add(key) ? CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("lost"))
          : CompletableFuture.completedFuture(reply);
    });
    var reply = assertInstanceOf(TransferBatch.BatchReply.class, initiate(batch("b3", losing), request(50)));
    assertEquals(TransferBatch.Status.COMPLETED, reply.batch().status());
    assertEquals(20, summary(a, "alice").balance());
    assertEquals(30, summary(b, "bob").balance());
    assertEquals(50, summary(c, "carol").balance());

    // While a credit is expected, the destination stays open.
    assertInstanceOf(LedgerAccount.MovementReply.class, account(c, r ->
        new LedgerAccount.ExpectCredit("x:0", a, 5, "EUR", java.time.Instant.now(), r)));
    assertInstanceOf(LedgerAccount.MovementReply.class, account(c, r -> new LedgerAccount.Withdraw("carol", 50,
        "w", r)));
    var close = account(c, r -> new LedgerAccount.Close("carol", r));
    assertEquals(Rejection.Kind.UNPROCESSABLE, assertInstanceOf(LedgerAccount.Rejected.class, close).rejection()
        .kind());
    assertFalse(summary(c, "carol").closed());
  }

  @Test
  void aRestartedBatchFinishesItsPhase() throws Exception {
    open(a, "alice", 100);
    open(b, "bob", 0);
    open(c, "carol", 0);
    // Commit steps vanish: the batch is stuck after its reservation, as if its node died there.
    Transfer.Accounts noCommit = (id, command) -> {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      var cmd = command.apply(probe.ref());
      if (cmd instanceof LedgerAccount.Capture || cmd instanceof LedgerAccount.Credit) {
        return new CompletableFuture<>();
      }
      return accounts.ask(id, command);
    };
    var quick = new Transfer.Settings(Duration.ofMillis(300), WAIT, Duration.ofSeconds(30), Duration.ofSeconds(30));
    var stuck = testKit.spawn(TransferBatch.create("b4", noCommit, quick, Clock.systemUTC(), self -> {}));
    var pending = assertInstanceOf(TransferBatch.BatchReply.class, initiate(stuck, request(50)));
    assertEquals(TransferBatch.Status.PENDING, pending.batch().status());
    testKit.stop(stuck);
    assertEquals(80, summary(a, "alice").held());

    var recovered = batch("b4", accounts);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (summary(c, "carol").balance() != 50 && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(20, summary(a, "alice").balance());
    assertEquals(0, summary(a, "alice").held());
    assertEquals(30, summary(b, "bob").balance());
    var probe = testKit.<TransferBatch.Reply>createTestProbe();
    recovered.tell(new TransferBatch.Get("alice", probe.ref()));
    assertEquals(TransferBatch.Status.COMPLETED,
        assertInstanceOf(TransferBatch.BatchReply.class, probe.expectMessageClass(TransferBatch.Reply.class, WAIT))
            .batch().status());
  }
}
