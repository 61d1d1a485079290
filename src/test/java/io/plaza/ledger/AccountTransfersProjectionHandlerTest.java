package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The rows of transfers a source account coordinates, and the sweep that wakes the source of one left unsettled:
 * against an in-memory repository (the Cassandra one is exercised by TransferApiIT and TransferCrashIT).
 */
class AccountTransfersProjectionHandlerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Instant T0 = Instant.parse("2026-12-06T10:00:30Z");
  private static final Transfer.Request REQUEST = new Transfer.Request("alice", "a", "b", 30, "EUR", "rent");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** The rows a real repository would hold after the changes (newest version wins), and the unsettled notes. */
  static final class InMemoryTransfers implements TransferRepository {
    final Map<String, TransferRow> rows = new ConcurrentHashMap<>();
    final List<Change> writes = new CopyOnWriteArrayList<>();
    final Map<String, Unsettled> unsettled = new ConcurrentHashMap<>();

    private static String key(Unsettled u) {
      return u.tag() + "|" + u.minute() + "|" + u.transferId();
    }

    @Override
    public CompletionStage<Done> apply(List<Change> changes) {
      for (var c : changes) {
        writes.add(c);
        rows.merge(c.transferId(), new TransferRow(c.transferId(), c.request(), c.status(), c.detail(),
            c.problemStatus(), c.steps(), c.createdAt(), c.finishedAt(), c.expiresAt(), c.postedAmount(), c.version()),
            (old, now) -> now.version() >= old.version() ? now : old);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Optional<TransferRow>> find(String transferId) {
      return CompletableFuture.completedFuture(Optional.ofNullable(rows.get(transferId)));
    }

    @Override
    public CompletionStage<Done> markUnsettled(List<Unsettled> transfers) {
      transfers.forEach(u -> unsettled.put(key(u), u));
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<List<Unsettled>> unsettled(String tag, Instant minute) {
      return CompletableFuture.completedFuture(unsettled.values().stream()
          .filter(u -> u.tag().equals(tag) && u.minute().equals(minute)).toList());
    }

    @Override
    public CompletionStage<Done> forgetUnsettled(Unsettled transfer) {
      unsettled.remove(key(transfer));
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }

  private final InMemoryTransfers repository = new InMemoryTransfers();
  private final List<String> woken = new CopyOnWriteArrayList<>();

  /** A handler that writes every debit's row at once (no pending-row delay), as seen at {@code now}. */
  private AccountTransfersProjectionHandler handler(Instant now) {
    return handler(Clock.fixed(now, ZoneOffset.UTC), Duration.ZERO);
  }

  private AccountTransfersProjectionHandler handler(Clock clock, Duration pendingRowDelay) {
    return new AccountTransfersProjectionHandler(repository, "ledger-account-0", testKit.system(),
        new AccountTransfersProjectionHandler.Sweep(Duration.ofHours(1), Duration.ofSeconds(5), woken::add, clock,
            pendingRowDelay));
  }

  private static EventEnvelope<LedgerAccount.Event> envelope(LedgerAccount.Event e, long seq) {
    return envelope(e, seq, 0L);
  }

  /** {@code writtenAt}: the event's write time in epoch millis (what the handler holds debits back by). */
  private static EventEnvelope<LedgerAccount.Event> envelope(LedgerAccount.Event e, long seq, long writtenAt) {
    return EventEnvelope.create(Offset.sequence(seq), "LedgerAccount|" + e.accountId(), seq, e, writtenAt);
  }

  /** A clock the test moves. */
  private static final class MovableClock extends Clock {
    private volatile Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void aSettlementInALaterGroupWithinTheDelayMakesOneRowWriteAndNoNote() {
    var handler = handler(Clock.fixed(T0, ZoneOffset.UTC), Duration.ofSeconds(1));
    handler.process(List.of(envelope(debited("t1", T0), 5, 1_000))).toCompletableFuture().join();
    assertTrue(repository.writes.isEmpty(), "the debit waits for its settlement: " + repository.writes);
    assertTrue(repository.unsettled.isEmpty());
    handler.process(List.of(envelope(settled("t1", T0.plusMillis(400)), 6, 1_400))).toCompletableFuture().join();
    assertEquals(1, repository.writes.size(), repository.writes.toString());
    var row = repository.rows.get("t1");
    assertEquals(Transfer.Status.COMPLETED, row.status());
    assertEquals(REQUEST, row.request());
    assertEquals(Map.of("requested", T0, "debited", T0, "credited", T0.plusMillis(400)), row.steps());
    assertTrue(repository.unsettled.isEmpty(), "nothing to sweep");
  }

  @Test
  void aDebitStillUnsettledAfterTheDelayIsWrittenPendingAndNotedEvenWhenNoOtherEventComes() {
    var clock = new MovableClock(T0);
    var handler = handler(clock, Duration.ofSeconds(1));
    handler.process(List.of(envelope(debited("t1", T0), 5, 1_000))).toCompletableFuture().join();
    clock.advance(Duration.ofMillis(900));
    handler.writeExpired().toCompletableFuture().join();
    assertTrue(repository.writes.isEmpty(), "still within its delay");
    clock.advance(Duration.ofMillis(100));
    handler.writeExpired().toCompletableFuture().join();
    assertEquals(Transfer.Status.PENDING, repository.rows.get("t1").status());
    assertEquals(1, repository.unsettled.size(), "noted for the sweep");

    handler.process(List.of(envelope(settled("t1", T0.plusSeconds(2)), 6, 3_000))).toCompletableFuture().join();
    assertEquals(Transfer.Status.COMPLETED, repository.rows.get("t1").status());
    assertTrue(repository.unsettled.isEmpty(), "its note is forgotten at once");
  }

  @Test
  void aDebitIsWrittenBeforeTheOffsetOfAnEventWrittenTheDelayAfterItIsSaved() {
    // The wall clock stands still (a projection catching up handles minutes of events in a second): what bounds the
    // hold is the events' own time, so a restart rewound by more than the delay always sees the held debit again.
    var handler = handler(Clock.fixed(T0, ZoneOffset.UTC), Duration.ofSeconds(1));
    handler.process(List.of(envelope(debited("t1", T0), 5, 1_000))).toCompletableFuture().join();
    handler.process(List.of(envelope(debited("t2", T0), 7, 1_999))).toCompletableFuture().join();
    assertTrue(repository.writes.isEmpty(), repository.writes.toString());
    var done = handler.process(List.of(envelope(debited("t3", T0), 9, 2_000)));
    assertTrue(done.toCompletableFuture().isDone());
    assertEquals(Transfer.Status.PENDING, repository.rows.get("t1").status(), "written within the group's process");
    assertEquals(1, repository.unsettled.size());
    assertEquals(List.of("t1"), repository.writes.stream().map(TransferRepository.Change::transferId).toList());
  }

  @Test
  void aPendingRowDelayThatTheRestartRewindDoesNotCoverIsRefused() {
    var base = com.typesafe.config.ConfigFactory.parseString("plaza.projections.restart-rewind = 10s");
    assertEquals(Duration.ofSeconds(1), Ledger.pendingRowDelay(com.typesafe.config.ConfigFactory
        .parseString("plaza.ledger.transfers.pending-row-delay = 1s").withFallback(base)));
    var tooLong = com.typesafe.config.ConfigFactory.parseString("plaza.ledger.transfers.pending-row-delay = 10s")
        .withFallback(base);
    var refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Ledger.pendingRowDelay(tooLong));
    assertTrue(refused.getMessage().contains("restart-rewind"), refused.getMessage());
  }

  private static LedgerAccount.TransferDebited debited(String transferId, Instant at) {
    return new LedgerAccount.TransferDebited("a", transferId, LedgerAccount.legId(transferId,
        LedgerAccount.Operation.Kind.TRANSFER_DEBIT), "b", 30, 70, at, null, null, REQUEST);
  }

  private static LedgerAccount.TransferSettled settled(String transferId, Instant at) {
    return new LedgerAccount.TransferSettled("a", transferId, at, null, at);
  }

  @Test
  void aDebitAndItsSettlementInOneGroupAreOneRowWriteAndLeaveNothingToSweep() {
    handler(T0).process(List.of(envelope(debited("t1", T0), 5), envelope(settled("t1", T0.plusMillis(3)), 6)))
        .toCompletableFuture().join();
    assertEquals(1, repository.writes.size(), repository.writes.toString());
    var row = repository.rows.get("t1");
    assertEquals(Transfer.Status.COMPLETED, row.status());
    assertEquals(REQUEST, row.request());
    assertEquals(6, row.version());
    assertEquals(Map.of("requested", T0, "debited", T0, "credited", T0.plusMillis(3)), row.steps());
    assertTrue(repository.unsettled.isEmpty());
  }

  @Test
  void aSagaLegIsNoRowOfItsOwn() {
    var sagaDebit = new LedgerAccount.TransferDebited("a", "s1", "transfer s1 transfer_debit", "b", 30, 70, T0, null,
        null);
    handler(T0).process(List.of(envelope(sagaDebit, 5))).toCompletableFuture().join();
    assertTrue(repository.rows.isEmpty());
    assertTrue(repository.unsettled.isEmpty());
  }

  @Test
  void aDebitLeftUnsettledIsNotedSweptAfterItsGraceAndForgottenOnceSettled() {
    var handler = handler(T0);
    handler.process(List.of(envelope(debited("t1", T0), 5))).toCompletableFuture().join();
    assertEquals(Transfer.Status.PENDING, repository.rows.get("t1").status());
    assertEquals(1, repository.unsettled.size());

    handler.sweepOnce().toCompletableFuture().join();
    assertEquals(List.of(), woken, "not within its grace of 5 s");
    handler(T0.plusSeconds(6)).sweepOnce().toCompletableFuture().join();
    assertEquals(List.of("a"), woken, "the source account is woken: its recovery delivers the credit");
    assertEquals(1, repository.unsettled.size());

    // Settled, as seen by another instance (a restart): its note is left for the sweep.
    handler(T0).process(List.of(envelope(settled("t1", T0.plusSeconds(7)), 6))).toCompletableFuture().join();
    assertEquals(Transfer.Status.COMPLETED, repository.rows.get("t1").status());
    assertEquals(1, repository.unsettled.size());
    handler(T0.plusSeconds(8)).sweepOnce().toCompletableFuture().join();
    assertEquals(List.of("a"), woken, "a settled transfer wakes nobody");
    assertTrue(repository.unsettled.isEmpty(), "and its note is forgotten");
  }

  @Test
  void aSettlementInALaterGroupForgetsTheNoteAtOnceWithoutWaitingForASweep() {
    var handler = handler(T0);
    handler.process(List.of(envelope(debited("t1", T0), 5))).toCompletableFuture().join();
    assertEquals(1, repository.unsettled.size());
    handler.process(List.of(envelope(settled("t1", T0.plusMillis(400)), 6))).toCompletableFuture().join();
    assertTrue(repository.unsettled.isEmpty());
    assertEquals(Transfer.Status.COMPLETED, repository.rows.get("t1").status());
  }

  @Test
  void aTransferUnsettledForMinutesMovesForwardSoEverySweepStillSeesIt() {
    var handler = handler(T0);
    handler.process(List.of(envelope(debited("t1", T0), 5))).toCompletableFuture().join();
    var seen = new ArrayList<Instant>();
    for (int minute = 0; minute <= 10; minute++) {
      var now = T0.plus(minute, ChronoUnit.MINUTES).plusSeconds(10);
      handler(now).sweepOnce().toCompletableFuture().join();
      assertEquals(1, repository.unsettled.size());
      seen.add(repository.unsettled.values().iterator().next().minute());
    }
    assertEquals(11, woken.size(), "woken at every sweep for ten minutes: " + seen);
    var last = repository.unsettled.values().iterator().next();
    assertTrue(!last.minute().isBefore(T0.plus(8, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MINUTES)), seen.toString());
    assertEquals(T0, last.debitedAt());
  }
}
