package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.junit.jupiter.api.Test;

/**
 * The balances and journal handlers together against repositories that keep, like Cassandra's USING TIMESTAMP and
 * the journal's primary key, the highest version per column and one entry per sequence number; a balance is read as
 * {@code CassandraBalanceRepository} reads it: the account row with its newest journal entry.
 */
class BalancesProjectionHandlerTest {

  private static final Instant T = Instant.parse("2026-11-25T10:00:00Z");

  /** The journal read model: entries by account and sequence number. */
  static final class Journal implements JournalRepository {
    final Map<String, TreeMap<Long, Entry>> entries = new HashMap<>();

    @Override
    public CompletionStage<Done> append(List<Entry> appended) {
      appended.forEach(e -> entries.computeIfAbsent(e.accountId(), id -> new TreeMap<>()).put(e.seq(), e));
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Optional<Entry>> latest(String accountId, long bucketHint) {
      var all = entries.getOrDefault(accountId, new TreeMap<>());
      return CompletableFuture.completedFuture(Optional.ofNullable(all.isEmpty() ? null : all.lastEntry().getValue()));
    }

    @Override
    public CompletionStage<List<Entry>> page(String accountId, long afterSeq, int limit) {
      throw new UnsupportedOperationException();
    }
  }

  /** Last-write-wins by version per column, as the Cassandra repository does. */
  static final class VersionedBalances implements BalanceRepository {
    final Map<String, Balance> rows = new HashMap<>();
    final Map<String, Long> heldVersions = new HashMap<>();
    final Map<String, Long> journalBuckets = new HashMap<>();
    final Journal journal = new Journal();

    @Override
    public CompletionStage<Done> apply(List<Write> writes) {
      for (var w : writes) {
        var row = rows.getOrDefault(w.accountId(), new Balance(w.accountId(), null, null, 0, 0, 0, 0, null, null));
        if (w instanceof Opened o) {
          row = new Balance(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(), 0, row.held(), o.version(),
              o.openedAt(), o.openedAt());
        } else if (w instanceof HeldChanged h) {
          if (h.version() > heldVersions.getOrDefault(h.accountId(), 0L)) {
            heldVersions.put(h.accountId(), h.version());
            row = new Balance(row.accountId(), row.owner(), row.currency(), row.overdraftLimit(), row.balance(),
                h.held(), row.version(), row.openedAt(), row.updatedAt());
          }
        } else if (w instanceof JournalReached j) {
          journalBuckets.merge(j.accountId(), j.bucket(), Math::max);
        }
        rows.put(w.accountId(), row);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Optional<Balance>> find(String accountId) {
      var row = rows.get(accountId);
      if (row == null) return CompletableFuture.completedFuture(Optional.empty());
      return journal.latest(accountId, journalBuckets.getOrDefault(accountId, 0L))
          .thenApply(latest -> Optional.of(Balance.of(row, latest)));
    }

    Balance balance(String accountId) {
      return find(accountId).toCompletableFuture().join().orElseThrow();
    }

    @Override
    public CompletionStage<List<Balance>> ofOwner(String owner, int limit) {
      throw new UnsupportedOperationException();
    }

    /** What the ledger-accounts projection does with a group: balances, then the journal. */
    void project(List<EventEnvelope<LedgerAccount.Event>> group) {
      new BalancesProjectionHandler(this).process(group).toCompletableFuture().join();
      new JournalProjectionHandler(journal).process(group).toCompletableFuture().join();
    }
  }

  private static EventEnvelope<LedgerAccount.Event> envelope(LedgerAccount.Event e, long seq) {
    return EventEnvelope.create(Offset.sequence(seq), "LedgerAccount|" + e.accountId(), seq, e, 0L);
  }

  private static final List<EventEnvelope<LedgerAccount.Event>> HISTORY = List.of(
      envelope(new LedgerAccount.AccountOpened("a", "alice", "EUR", 0, T), 1),
      envelope(new LedgerAccount.FundsDeposited("a", "op-1", 100, 100, T), 2),
      envelope(new LedgerAccount.AccountOpened("b", "bob", "USD", 50, T), 1),
      envelope(new LedgerAccount.FundsWithdrawn("a", "op-2", 30, 70, T), 3),
      envelope(new LedgerAccount.FundsWithdrawn("b", "op-1", 20, -20, T), 2));

  @Test
  void aMovementWritesNoBalanceRowItsJournalEntryCarriesTheBalance() {
    var writes = BalancesProjectionHandler.writesFor(HISTORY);
    assertEquals(2, writes.size(), writes.toString()); // the two openings; the three movements only journal entries
    assertTrue(writes.stream().allMatch(w -> w instanceof BalanceRepository.Opened), writes.toString());
    assertTrue(BalancesProjectionHandler.writesFor(HISTORY.subList(3, 5)).isEmpty());
  }

  @Test
  void buildsBalancesFromEvents() {
    var repo = new VersionedBalances();
    repo.project(HISTORY);
    assertEquals(70, repo.balance("a").balance());
    assertEquals(3, repo.balance("a").version());
    assertEquals("alice", repo.balance("a").owner());
    assertEquals(-20, repo.balance("b").balance());
    assertEquals(50, repo.balance("b").overdraftLimit());
  }

  @Test
  void anAccountWithoutMovementsHasTheOpeningsBalance() {
    var repo = new VersionedBalances();
    repo.project(HISTORY.subList(0, 1));
    assertEquals(0, repo.balance("a").balance());
    assertEquals(1, repo.balance("a").version());
  }

  @Test
  void aRowOfAnOlderReleaseNewerThanTheJournalKeepsItsBalance() {
    // Releases before 0.4.0 projected the balance into the row; while the journal trails it, the row is newer.
    var row = new BalanceRepository.Balance("a", "alice", "EUR", 0, 70, 0, 3, T, T);
    var older = JournalProjectionHandler.entryFor(new LedgerAccount.FundsDeposited("a", "op-1", 100, 100, T), 2);
    assertEquals(row, BalanceRepository.Balance.of(row, Optional.of(older)));
    var newer = JournalProjectionHandler.entryFor(new LedgerAccount.FundsDeposited("a", "op-3", 5, 75, T), 4);
    assertEquals(75, BalanceRepository.Balance.of(row, Optional.of(newer)).balance());
    assertEquals(4, BalanceRepository.Balance.of(row, Optional.of(newer)).version());
  }

  @Test
  void anAccountPastItsFirstJournalBucketSaysWhereItsEntriesAreOncePerGroup() {
    long first = CassandraJournalRepository.BUCKET_SIZE - 1;
    var group = new ArrayList<EventEnvelope<LedgerAccount.Event>>();
    for (long seq = first; seq < first + 3; seq++) {
      group.add(envelope(new LedgerAccount.FundsDeposited("a", "op-" + seq, 1, seq, T), seq));
    }
    var writes = BalancesProjectionHandler.writesFor(group);
    assertEquals(List.of(new BalanceRepository.JournalReached("a", 1)), writes);
  }

  @Test
  void replayingEnvelopesAfterARestartChangesNothing() {
    var repo = new VersionedBalances();
    repo.project(HISTORY);
    var before = List.of(repo.balance("a"), repo.balance("b"));
    // At-least-once: an older group is delivered again after a crash before its offset was saved.
    repo.project(HISTORY.subList(0, 2));
    repo.project(HISTORY);
    assertEquals(before, List.of(repo.balance("a"), repo.balance("b")));
  }

  @Test
  void tracksWhatPendingTransfersHold() {
    var repo = new VersionedBalances();
    repo.project(List.of(
        envelope(new LedgerAccount.AccountOpened("a", "alice", "EUR", 0, T), 1),
        envelope(new LedgerAccount.FundsDeposited("a", "op-1", 100, 100, T), 2),
        envelope(new LedgerAccount.FundsHeld("a", "t1", "transfer t1 hold", "b", 60, 60, T), 3),
        envelope(new LedgerAccount.FundsHeld("a", "t2", "transfer t2 hold", "b", 30, 90, T), 4)));
    assertEquals(100, repo.balance("a").balance());
    assertEquals(90, repo.balance("a").held());
    // t1 posts 50 of its 60 (the rest is released), t2 is voided.
    repo.project(List.of(
        envelope(new LedgerAccount.TransferDebited("a", "t1", "transfer t1 transfer_debit", "b", 50, 50, T, 60L, 30L),
            5),
        envelope(new LedgerAccount.HoldReleased("a", "t2", "transfer t2 hold_release", 30, 0, T), 6)));
    assertEquals(50, repo.balance("a").balance());
    assertEquals(0, repo.balance("a").held());
  }
}
