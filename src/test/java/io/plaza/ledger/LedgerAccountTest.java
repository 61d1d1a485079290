package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Entity logic on the in-memory journal; every command, event and state round-trips through Jackson CBOR. */
class LedgerAccountTest {

  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));

  private EventSourcedBehaviorTestKit<LedgerAccount.Command, LedgerAccount.Event, LedgerAccount.State> account;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    account = EventSourcedBehaviorTestKit.create(testKit.system(),
        LedgerAccount.create("acc-1", new LedgerAccount.Memory(3, java.time.Duration.ZERO),
            Clock.fixed(NOW, ZoneOffset.UTC)));
  }

  private LedgerAccount.Reply open(String owner, String currency, long overdraft) {
    return account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Open(owner, currency, overdraft, r))
        .reply();
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<LedgerAccount.Command, LedgerAccount.Event,
      LedgerAccount.State, LedgerAccount.Reply> deposit(String who, long amount, String op) {
    return account.runCommand(r -> new LedgerAccount.Deposit(who, amount, op, r));
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<LedgerAccount.Command, LedgerAccount.Event,
      LedgerAccount.State, LedgerAccount.Reply> withdraw(String who, long amount, String op) {
    return account.runCommand(r -> new LedgerAccount.Withdraw(who, amount, op, r));
  }

  private static Rejection.Kind rejection(LedgerAccount.Reply reply) {
    return assertInstanceOf(LedgerAccount.Rejected.class, reply).rejection().kind();
  }

  @Test
  void opensAnAccountWithZeroBalance() {
    var result = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Open("alice", "EUR", 0, r));
    assertEquals(new LedgerAccount.AccountOpened("acc-1", "alice", "EUR", 0, NOW), result.event());
    var summary = assertInstanceOf(LedgerAccount.AccountReply.class, result.reply()).account();
    assertEquals(0, summary.balance());
    assertEquals(1, summary.version());
  }

  @Test
  void rejectsUnknownCurrencyAndNegativeOverdraft() {
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(open("alice", "ABC", 0)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(open("alice", "XTS", 0)));
    assertEquals(Rejection.Kind.BAD_REQUEST, rejection(open("alice", "EUR", -1)));
    assertInstanceOf(LedgerAccount.Unopened.class, account.getState());
  }

  @Test
  void reopeningWithSameTermsIsARetryAndOtherTermsConflict() {
    open("alice", "EUR", 0);
    var retry = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Open("alice", "EUR", 0, r));
    assertTrue(retry.hasNoEvents());
    assertInstanceOf(LedgerAccount.AccountReply.class, retry.reply());
    assertEquals(Rejection.Kind.CONFLICT, rejection(open("alice", "USD", 0)));
    assertEquals(Rejection.Kind.CONFLICT, rejection(open("bob", "EUR", 0)));
  }

  @Test
  void depositsAndWithdrawalsMoveTheBalance() {
    open("alice", "EUR", 0);
    var d = deposit("alice", 1_000, "op-1");
    assertEquals(new LedgerAccount.FundsDeposited("acc-1", "op-1", 1_000, 1_000, NOW), d.event());
    var w = withdraw("alice", 400, "op-2");
    assertEquals(new LedgerAccount.FundsWithdrawn("acc-1", "op-2", 400, 600, NOW), w.event());
    var moved = assertInstanceOf(LedgerAccount.MovementReply.class, w.reply());
    assertEquals(600, moved.account().balance());
    assertEquals(3, moved.account().version());
  }

  @Test
  void rejectsWithdrawalThatWouldOverdraw() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "op-1");
    var result = withdraw("alice", 101, "op-2");
    assertTrue(result.hasNoEvents());
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(result.reply()));
    assertEquals(100, ((LedgerAccount.OpenAccount) account.getState()).balance());
  }

  @Test
  void allowsOverdraftUpToItsLimitOnly() {
    open("alice", "EUR", 500);
    assertInstanceOf(LedgerAccount.MovementReply.class, withdraw("alice", 500, "op-1").reply());
    var beyond = withdraw("alice", 1, "op-2");
    assertTrue(beyond.hasNoEvents());
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(beyond.reply()));
    assertEquals(-500, ((LedgerAccount.OpenAccount) account.getState()).balance());
  }

  @Test
  void rejectsZeroNegativeAndOverflowingAmounts() {
    open("alice", "EUR", 0);
    assertEquals(Rejection.Kind.BAD_REQUEST, rejection(deposit("alice", 0, "a").reply()));
    assertEquals(Rejection.Kind.BAD_REQUEST, rejection(deposit("alice", -5, "b").reply()));
    assertEquals(Rejection.Kind.BAD_REQUEST, rejection(withdraw("alice", -5, "c").reply()));
    deposit("alice", Long.MAX_VALUE, "max");
    var overflow = deposit("alice", 1, "d");
    assertTrue(overflow.hasNoEvents());
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(overflow.reply()));
    assertEquals(Long.MAX_VALUE, ((LedgerAccount.OpenAccount) account.getState()).balance());
  }

  @Test
  void onlyTheOwnerMaySeeOrMoveTheMoney() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "op-1");
    var steal = withdraw("mallory", 100, "op-2");
    assertTrue(steal.hasNoEvents());
    assertEquals(Rejection.Kind.FORBIDDEN, rejection(steal.reply()));
    assertEquals(Rejection.Kind.FORBIDDEN, rejection(deposit("mallory", 1, "op-3").reply()));
    assertEquals(Rejection.Kind.FORBIDDEN,
        rejection(account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Get("mallory", r)).reply()));
  }

  @Test
  void unknownAccountIsNotFoundForEveryCommand() {
    assertEquals(Rejection.Kind.NOT_FOUND, rejection(deposit("alice", 1, "op").reply()));
    assertEquals(Rejection.Kind.NOT_FOUND, rejection(withdraw("alice", 1, "op").reply()));
    assertEquals(Rejection.Kind.NOT_FOUND,
        rejection(account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Get("alice", r)).reply()));
  }

  @Test
  void retriedOperationAppliesOnceAndAnswersTheSame() {
    open("alice", "EUR", 0);
    var first = assertInstanceOf(LedgerAccount.MovementReply.class, deposit("alice", 250, "op-1").reply());
    deposit("alice", 50, "op-2");
    var retry = deposit("alice", 250, "op-1");
    assertTrue(retry.hasNoEvents());
    var replayed = assertInstanceOf(LedgerAccount.MovementReply.class, retry.reply());
    assertTrue(replayed.replayed());
    assertEquals(first.operation(), replayed.operation());
    assertEquals(300, ((LedgerAccount.OpenAccount) account.getState()).balance());
  }

  @Test
  void reusingAnOperationIdForAnotherRequestConflicts() {
    open("alice", "EUR", 0);
    deposit("alice", 250, "op-1");
    assertEquals(Rejection.Kind.CONFLICT, rejection(deposit("alice", 251, "op-1").reply()));
    assertEquals(Rejection.Kind.CONFLICT, rejection(withdraw("alice", 250, "op-1").reply()));
  }

  @Test
  void remembersOnlyTheConfiguredNumberOfOperations() {
    open("alice", "EUR", 0);
    for (int i = 1; i <= 4; i++) deposit("alice", 1, "op-" + i);
    var state = (LedgerAccount.OpenAccount) account.getState();
    assertEquals(3, state.recentOperations().size());
    assertTrue(!state.recentOperations().containsKey("op-1"));
  }

  @Test
  void recoversItsStateFromTheJournal() {
    open("alice", "EUR", 0);
    deposit("alice", 70, "op-1");
    withdraw("alice", 20, "op-2");
    account.restart();
    var state = (LedgerAccount.OpenAccount) account.getState();
    assertEquals(50, state.balance());
    assertEquals(3, state.version());
    assertTrue(deposit("alice", 70, "op-1").hasNoEvents());
  }

  @Test
  void tagsAreStablePerAccountAndWithinTheFixedSet() {
    assertEquals(LedgerAccount.tagFor("acc-1"), LedgerAccount.tagFor("acc-1"));
    assertTrue(LedgerAccount.TAGS.contains(LedgerAccount.tagFor("anything")));
    assertEquals(8, LedgerAccount.TAGS.size());
  }

  // ---- transfer legs ------------------------------------------------------------------------------------------

  private LedgerAccount.Reply debit(String transfer, String who, long amount, String currency, Instant initiatedAt) {
    return account.<LedgerAccount.Reply>runCommand(r ->
        new LedgerAccount.Debit(transfer, who, "acc-2", amount, currency, initiatedAt, r)).reply();
  }

  private LedgerAccount.Reply credit(String transfer, long amount, String currency) {
    return account.<LedgerAccount.Reply>runCommand(r ->
        new LedgerAccount.Credit(transfer, "acc-2", amount, currency, NOW, r)).reply();
  }

  private long balance() {
    return ((LedgerAccount.OpenAccount) account.getState()).balance();
  }

  @Test
  void aDebitAppliesOncePerTransferAndOnlyForTheOwner() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "d1");
    var first = assertInstanceOf(LedgerAccount.MovementReply.class, debit("t1", "alice", 30, "EUR", NOW));
    assertEquals(70, first.account().balance());
    var again = assertInstanceOf(LedgerAccount.MovementReply.class, debit("t1", "alice", 30, "EUR", NOW));
    assertTrue(again.replayed());
    assertEquals(70, balance());
    assertEquals(Rejection.Kind.FORBIDDEN, rejection(debit("t2", "mallory", 30, "EUR", NOW)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(debit("t3", "alice", 71, "EUR", NOW)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(debit("t4", "alice", 10, "USD", NOW)));
    assertEquals(70, balance());
  }

  @Test
  void creditAndRefundAreIdempotentAndAClosedAccountTakesRefundsOnly() {
    open("alice", "EUR", 0);
    assertInstanceOf(LedgerAccount.MovementReply.class, credit("t1", 40, "EUR"));
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, credit("t1", 40, "EUR")).replayed());
    assertEquals(40, balance());
    assertInstanceOf(LedgerAccount.MovementReply.class, debit("t2", "alice", 40, "EUR", NOW));

    var closed = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Close("alice", r)).reply();
    assertTrue(assertInstanceOf(LedgerAccount.AccountReply.class, closed).account().closed());
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(credit("t3", 5, "EUR")));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(deposit("alice", 5, "d1").reply()));

    var refund = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Refund("t2", 40, NOW, r)).reply();
    assertEquals(40, assertInstanceOf(LedgerAccount.MovementReply.class, refund).account().balance());
    var info = account.<LedgerAccount.Reply>runCommand(LedgerAccount.Describe::new).reply();
    assertEquals(new LedgerAccount.AccountInfo("acc-1", "EUR", true), info);
  }

  @Test
  void onlyAnEmptyAccountCanBeClosed() {
    open("alice", "EUR", 0);
    deposit("alice", 1, "d1");
    var refused = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Close("alice", r)).reply();
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(refused));
    assertTrue(account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Close("bob", r)).hasNoEvents());
  }

  @Test
  void aLegThatMayHaveBeenForgottenIsNeitherAppliedNorRefusedButReportedUnknown() {
    open("alice", "EUR", 0); // remembers 3 operations
    for (int i = 0; i < 5; i++) deposit("alice", 10, "d" + i);
    // d0 and d1 (at NOW) were forgotten: a transfer started at NOW might have been among them.
    assertEquals(new LedgerAccount.LegUnknown("t1"), debit("t1", "alice", 10, "EUR", NOW));
    assertEquals(50, balance());
    // One started well after the forgotten ones cannot have been applied and forgotten: it goes ahead.
    var later = NOW.plus(LedgerAccount.CLOCK_SKEW).plusSeconds(1);
    assertInstanceOf(LedgerAccount.MovementReply.class, debit("t2", "alice", 10, "EUR", later));
    assertEquals(40, balance());
  }

  // ---- holds (two-phase transfers) ------------------------------------------------------------------------------

  private LedgerAccount.Reply hold(String transfer, String who, long amount) {
    return account.<LedgerAccount.Reply>runCommand(r ->
        new LedgerAccount.Hold(transfer, who, "acc-2", amount, "EUR", NOW, r)).reply();
  }

  private LedgerAccount.Reply capture(String transfer, long amount) {
    return account.<LedgerAccount.Reply>runCommand(r ->
        new LedgerAccount.Capture(transfer, "acc-2", amount, NOW, r)).reply();
  }

  private LedgerAccount.Reply release(String transfer) {
    return account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Release(transfer, NOW, r)).reply();
  }

  private LedgerAccount.Summary summary() {
    return assertInstanceOf(LedgerAccount.AccountReply.class,
        account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Get("alice", r)).reply()).account();
  }

  @Test
  void aHoldReservesAvailableMoneyWithoutMovingTheBalance() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "d1");
    assertInstanceOf(LedgerAccount.MovementReply.class, hold("t1", "alice", 60));
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, hold("t1", "alice", 60)).replayed());
    assertEquals(100, summary().balance());
    assertEquals(60, summary().held());
    // Only the 40 still available can be withdrawn, debited or held.
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(withdraw("alice", 41, "w1").reply()));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(hold("t2", "alice", 41)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(debit("t3", "alice", 41, "EUR", NOW)));
    assertEquals(Rejection.Kind.FORBIDDEN, rejection(hold("t4", "mallory", 1)));
    // Nor can an account with money on hold be closed.
    withdraw("alice", 40, "w2");
    var close = account.<LedgerAccount.Reply>runCommand(r -> new LedgerAccount.Close("alice", r)).reply();
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(close));
  }

  @Test
  void postingTakesAtMostTheHeldAmountAndReleasesTheRest() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "d1");
    hold("t1", "alice", 60);
    assertEquals(Rejection.Kind.UNPROCESSABLE, rejection(capture("t1", 61)));
    var posted = assertInstanceOf(LedgerAccount.MovementReply.class, capture("t1", 45));
    assertEquals(55, posted.account().balance());
    assertEquals(0, posted.account().held());
    // The same post again is a replay; another amount, a void afterwards or a post of no hold are refused.
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, capture("t1", 45)).replayed());
    assertEquals(Rejection.Kind.CONFLICT, rejection(capture("t1", 50)));
    assertEquals(Rejection.Kind.CONFLICT, rejection(release("t1")));
    assertEquals(Rejection.Kind.NOT_FOUND, rejection(capture("t9", 1)));
    assertEquals(55, summary().balance());
  }

  @Test
  void aReleasedHoldFreesTheMoneyAndCannotBePostedAnymore() {
    open("alice", "EUR", 0);
    deposit("alice", 100, "d1");
    hold("t1", "alice", 60);
    assertEquals(0, assertInstanceOf(LedgerAccount.MovementReply.class, release("t1")).account().held());
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, release("t1")).replayed());
    assertEquals(Rejection.Kind.CONFLICT, rejection(capture("t1", 60)));
    assertEquals(100, summary().balance());
    assertInstanceOf(LedgerAccount.MovementReply.class, withdraw("alice", 100, "w1").reply());
  }

  @Test
  void aClientKeyYoungerThanTheRetentionIsRememberedHoweverBusyTheAccount() {
    var ticking = new io.plaza.platform.SettableClock(NOW);
    // Remembers 3 operations, but client keys for an hour.
    account = EventSourcedBehaviorTestKit.create(testKit.system(), LedgerAccount.create("acc-3",
        new LedgerAccount.Memory(3, java.time.Duration.ofHours(1)), ticking));
    open("alice", "EUR", 0);
    deposit("alice", 10, "first");
    for (int i = 0; i < 5; i++) deposit("alice", 1, "k" + i);
    // Still within the hour: the first key answers its retry instead of paying again.
    assertTrue(assertInstanceOf(LedgerAccount.MovementReply.class, deposit("alice", 10, "first").reply()).replayed());
    assertEquals(15, ((LedgerAccount.OpenAccount) account.getState()).balance());
    // Two hours later, older keys may go once the account is over its count.
    ticking.set(NOW.plus(java.time.Duration.ofHours(2)));
    deposit("alice", 1, "late");
    assertEquals(3, ((LedgerAccount.OpenAccount) account.getState()).recentOperations().size());
    assertEquals(false, ((LedgerAccount.OpenAccount) account.getState()).recentOperations().containsKey("first"));
  }
}
