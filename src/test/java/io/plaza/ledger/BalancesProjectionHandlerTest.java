package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.junit.jupiter.api.Test;

/** The handler's logic against a repository that keeps, like Cassandra's USING TIMESTAMP, the highest version. */
class BalancesProjectionHandlerTest {

  private static final Instant T = Instant.parse("2026-11-25T10:00:00Z");

  /** Last-write-wins by version per column group, as the Cassandra repository does. */
  static final class VersionedBalances implements BalanceRepository {
    final Map<String, Balance> rows = new HashMap<>();
    final List<List<Write>> calls = new ArrayList<>();
    final Map<String, Long> heldVersions = new HashMap<>();

    @Override
    public CompletionStage<Done> apply(List<Write> writes) {
      calls.add(writes);
      for (var w : writes) {
        var row = rows.getOrDefault(w.accountId(), new Balance(w.accountId(), null, null, 0, 0, 0, 0, null, null));
        if (w instanceof Opened o) {
          row = new Balance(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(),
              row.version() > 0 ? row.balance() : 0, row.held(), Math.max(row.version(), o.version()), o.openedAt(),
              row.updatedAt() != null ? row.updatedAt() : o.openedAt());
        } else if (w instanceof HeldChanged h) {
          if (h.version() > heldVersions.getOrDefault(h.accountId(), 0L)) {
            heldVersions.put(h.accountId(), h.version());
            row = new Balance(row.accountId(), row.owner(), row.currency(), row.overdraftLimit(), row.balance(),
                h.held(), row.version(), row.openedAt(), row.updatedAt());
          }
        } else {
          var b = (BalanceChanged) w;
          if (b.version() > row.version()) {
            row = new Balance(row.accountId(), row.owner(), row.currency(), row.overdraftLimit(), b.balance(),
                row.held(), b.version(), row.openedAt(), b.at());
          }
        }
        rows.put(w.accountId(), row);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Optional<Balance>> find(String accountId) {
      return CompletableFuture.completedFuture(Optional.ofNullable(rows.get(accountId)));
    }

    @Override
    public CompletionStage<List<Balance>> ofOwner(String owner, int limit) {
      return CompletableFuture.completedFuture(rows.values().stream().filter(b -> owner.equals(b.owner()))
          .limit(limit).toList());
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
  void coalescesAGroupIntoOneBalanceWritePerAccount() {
    var writes = BalancesProjectionHandler.writesFor(HISTORY);
    assertEquals(4, writes.size()); // two openings + the latest balance of a and of b
    var balanceOfA = writes.stream().filter(w -> w instanceof BalanceRepository.BalanceChanged)
        .map(w -> (BalanceRepository.BalanceChanged) w).filter(w -> w.accountId().equals("a")).findFirst()
        .orElseThrow();
    assertEquals(70, balanceOfA.balance());
    assertEquals(3, balanceOfA.version());
  }

  @Test
  void buildsBalancesFromEvents() {
    var repo = new VersionedBalances();
    new BalancesProjectionHandler(repo).process(HISTORY).toCompletableFuture().join();
    assertEquals(70, repo.rows.get("a").balance());
    assertEquals("alice", repo.rows.get("a").owner());
    assertEquals(-20, repo.rows.get("b").balance());
    assertEquals(50, repo.rows.get("b").overdraftLimit());
  }

  @Test
  void replayingEnvelopesAfterARestartChangesNothing() {
    var repo = new VersionedBalances();
    var handler = new BalancesProjectionHandler(repo);
    handler.process(HISTORY).toCompletableFuture().join();
    var before = new HashMap<>(repo.rows);
    // At-least-once: an older group is delivered again after a crash before its offset was saved.
    handler.process(HISTORY.subList(0, 2)).toCompletableFuture().join();
    handler.process(HISTORY).toCompletableFuture().join();
    assertEquals(before, repo.rows);
  }

  @Test
  void tracksWhatPendingTransfersHold() {
    var repo = new VersionedBalances();
    var handler = new BalancesProjectionHandler(repo);
    handler.process(List.of(
        envelope(new LedgerAccount.AccountOpened("a", "alice", "EUR", 0, T), 1),
        envelope(new LedgerAccount.FundsDeposited("a", "op-1", 100, 100, T), 2),
        envelope(new LedgerAccount.FundsHeld("a", "t1", "transfer t1 hold", "b", 60, 60, T), 3),
        envelope(new LedgerAccount.FundsHeld("a", "t2", "transfer t2 hold", "b", 30, 90, T), 4)))
        .toCompletableFuture().join();
    assertEquals(100, repo.rows.get("a").balance());
    assertEquals(90, repo.rows.get("a").held());
    // t1 posts 50 of its 60 (the rest is released), t2 is voided.
    handler.process(List.of(
        envelope(new LedgerAccount.TransferDebited("a", "t1", "transfer t1 transfer_debit", "b", 50, 50, T, 60L, 30L),
            5),
        envelope(new LedgerAccount.HoldReleased("a", "t2", "transfer t2 hold_release", 30, 0, T), 6)))
        .toCompletableFuture().join();
    assertEquals(50, repo.rows.get("a").balance());
    assertEquals(0, repo.rows.get("a").held());
  }
}
