package io.plaza.ledger;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `balances` up to date: each account's opening and what its pending transfers hold. A movement writes nothing
 * here: its `journal` entry carries the balance after it (see {@link BalanceRepository}). A group of envelopes becomes
 * at most one write per account and column: events carry the values after them, so intermediate ones need not be
 * written.
 */
public final class BalancesProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private final BalanceRepository repository;

  public BalancesProjectionHandler(BalanceRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    var writes = writesFor(envelopes);
    return writes.isEmpty() ? CompletableFuture.completedFuture(Done.getInstance()) : repository.apply(writes);
  }

  static List<BalanceRepository.Write> writesFor(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    var opened = new ArrayList<BalanceRepository.Write>();
    var latestHeld = new LinkedHashMap<String, BalanceRepository.HeldChanged>();
    var journalReached = new LinkedHashMap<String, BalanceRepository.JournalReached>();
    for (var envelope : envelopes) {
      long version = envelope.sequenceNr();
      var event = envelope.event();
      if (event instanceof LedgerAccount.AccountOpened o) {
        opened.add(new BalanceRepository.Opened(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(),
            o.openedAt(), version));
      } else if (event instanceof LedgerAccount.Movement m) {
        long bucket = CassandraJournalRepository.bucketOf(version);
        // Stateless and idempotent: an account past its first bucket says so once per group.
        if (bucket > 0) keepLatest(journalReached, new BalanceRepository.JournalReached(m.accountId(), bucket));
        if (m instanceof LedgerAccount.TransferDebited d && d.heldAfter() != null) {
          keepLatest(latestHeld, new BalanceRepository.HeldChanged(d.accountId(), d.heldAfter(), version,
              d.occurredAt()));
        }
      } else if (event instanceof LedgerAccount.FundsHeld h) {
        keepLatest(latestHeld, new BalanceRepository.HeldChanged(h.accountId(), h.heldAfter(), version,
            h.occurredAt()));
      } else if (event instanceof LedgerAccount.HoldReleased r) {
        keepLatest(latestHeld, new BalanceRepository.HeldChanged(r.accountId(), r.heldAfter(), version,
            r.occurredAt()));
      }
    }
    var writes = new ArrayList<BalanceRepository.Write>(opened);
    writes.addAll(latestHeld.values());
    writes.addAll(journalReached.values());
    return writes;
  }

  private static <W extends BalanceRepository.Write> void keepLatest(LinkedHashMap<String, W> latest, W write) {
    latest.merge(write.accountId(), write, (a, b) -> b.version() >= a.version() ? b : a);
  }
}
