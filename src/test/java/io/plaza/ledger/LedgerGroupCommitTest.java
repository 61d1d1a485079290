package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.HeldJournalWrite;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Group commit of a busy account: the requests that queue while a write is in flight are decided in order against
 * the state the earlier ones leave and persisted in one journal write, and a failed write applies none of them.
 */
class LedgerGroupCommitTest {

  private static final ActorTestKit testKit = ActorTestKit.create(AccountsFixture.config());
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void resetJournal() {
    journal.resetPolicy();
  }

  private static LedgerAccount.Reply ask(ActorRef<LedgerAccount.Command> account,
      java.util.function.Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> command) {
    var probe = testKit.<LedgerAccount.Reply>createTestProbe();
    account.tell(command.apply(probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  private static ActorRef<LedgerAccount.Command> openWith(String id, long deposit) {
    var account = testKit.spawn(LedgerAccount.create(id, 1000, Clock.systemUTC()));
    assertInstanceOf(LedgerAccount.AccountReply.class, ask(account, r -> new LedgerAccount.Open("alice", "EUR", 0, r)));
    assertInstanceOf(LedgerAccount.MovementReply.class,
        ask(account, r -> new LedgerAccount.Deposit("alice", deposit, "seed", r)));
    return account;
  }

  private static long balance(ActorRef<LedgerAccount.Command> account) {
    return assertInstanceOf(LedgerAccount.AccountReply.class, ask(account, r -> new LedgerAccount.Get("alice", r)))
        .account().balance();
  }

  @Test
  void requestsThatQueueBehindAWriteAreDecidedInOrderAndWrittenTogether() throws Exception {
    var id = "busy-1";
    var account = openWith(id, 100);
    var policy = new HeldJournalWrite("LedgerAccount|" + id, false);
    journal.withPolicy(policy);

    var first = testKit.<LedgerAccount.Reply>createTestProbe();
    account.tell(new LedgerAccount.Deposit("alice", 100, "d1", first.getRef()));
    policy.awaitHeldWrite();
    // While the deposit's write is held, 20 withdrawals of 30 queue: only 6 fit into the 200 the deposit leaves.
    var withdrawals = new ArrayList<TestProbe<LedgerAccount.Reply>>();
    for (int i = 0; i < 20; i++) {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      withdrawals.add(probe);
      account.tell(new LedgerAccount.Withdraw("alice", 30, "w" + i, probe.getRef()));
    }
    var sameKeyAgain = testKit.<LedgerAccount.Reply>createTestProbe();
    account.tell(new LedgerAccount.Withdraw("alice", 30, "w0", sameKeyAgain.getRef()));
    var get = testKit.<LedgerAccount.Reply>createTestProbe();
    account.tell(new LedgerAccount.Get("alice", get.getRef()));
    first.expectNoMessage(Duration.ofMillis(300)); // not answered before its write succeeded
    policy.release();

    assertEquals(200, assertInstanceOf(LedgerAccount.MovementReply.class, first.receiveMessage()).account().balance());
    int accepted = 0;
    for (int i = 0; i < withdrawals.size(); i++) {
      var reply = withdrawals.get(i).receiveMessage(Duration.ofSeconds(5));
      if (i < 6) {
        var moved = assertInstanceOf(LedgerAccount.MovementReply.class, reply);
        assertFalse(moved.replayed());
        assertEquals(200 - 30L * (i + 1), moved.account().balance(), "each answer shows the state its own event left");
        accepted++;
      } else {
        assertEquals(Rejection.Kind.UNPROCESSABLE,
            assertInstanceOf(LedgerAccount.Rejected.class, reply).rejection().kind());
      }
    }
    assertEquals(6, accepted);
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, sameKeyAgain.receiveMessage()).replayed());
    assertEquals(20, assertInstanceOf(LedgerAccount.AccountReply.class, get.receiveMessage()).account().balance());

    assertEquals(List.of(1, 6), policy.writes, "the deposit alone, then the 6 accepted withdrawals in one write");

    // The batch recovers like any events: a fresh incarnation sees the same balance.
    testKit.stop(account);
    var recovered = testKit.spawn(LedgerAccount.create(id, 1000, Clock.systemUTC()));
    assertEquals(20, balance(recovered));
  }

  @Test
  void aFailedBatchWriteAppliesNoneOfItsRequestsAndTheQueueGoesOn() throws Exception {
    var id = "busy-2";
    var account = openWith(id, 100);
    var policy = new HeldJournalWrite("LedgerAccount|" + id, true);
    journal.withPolicy(policy);

    var lost = testKit.<LedgerAccount.Reply>createTestProbe();
    account.tell(new LedgerAccount.Withdraw("alice", 30, "k1", lost.getRef()));
    policy.awaitHeldWrite();
    var queued = new ArrayList<TestProbe<LedgerAccount.Reply>>();
    for (var key : List.of("k2", "k3")) {
      var probe = testKit.<LedgerAccount.Reply>createTestProbe();
      queued.add(probe);
      account.tell(new LedgerAccount.Withdraw("alice", 30, key, probe.getRef()));
    }
    policy.release(); // k1's write fails: the entity restarts, recovers, and only then takes the queued requests

    for (int i = 0; i < queued.size(); i++) {
      var moved = assertInstanceOf(LedgerAccount.MovementReply.class, queued.get(i).receiveMessage(Duration.ofSeconds(10)));
      assertEquals(70 - 30L * i, moved.account().balance(), "k1 did not take effect");
    }
    lost.expectNoMessage(Duration.ofMillis(200)); // never "accepted": its event was not persisted

    // The client retries k1 with the same key: applied now, once; a second retry is a replay.
    var retry = assertInstanceOf(LedgerAccount.MovementReply.class,
        ask(account, r -> new LedgerAccount.Withdraw("alice", 30, "k1", r)));
    assertFalse(retry.replayed());
    assertEquals(10, retry.account().balance());
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class,
        ask(account, r -> new LedgerAccount.Withdraw("alice", 30, "k1", r))).replayed());
    var withdrawn = journal.persistedInStorage("LedgerAccount|" + id).stream()
        .filter(LedgerAccount.FundsWithdrawn.class::isInstance).map(e -> ((LedgerAccount.FundsWithdrawn) e).operationId())
        .toList();
    assertEquals(List.of("k2", "k3", "k1"), withdrawn);
  }
}
