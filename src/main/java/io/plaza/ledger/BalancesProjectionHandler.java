package io.plaza.ledger;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `balances` up to date. A group of envelopes becomes at most three writes per account (its opening, its latest
 * balance and its latest held total): events carry the values after them, so the intermediate ones need not be
 * written.
 */
public final class BalancesProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private final BalanceRepository repository;

  public BalancesProjectionHandler(BalanceRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    return repository.apply(writesFor(envelopes));
  }

  static List<BalanceRepository.Write> writesFor(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    var opened = new ArrayList<BalanceRepository.Write>();
    var latest = new LinkedHashMap<String, BalanceRepository.BalanceChanged>();
    var latestHeld = new LinkedHashMap<String, BalanceRepository.HeldChanged>();
    for (var envelope : envelopes) {
      long version = envelope.sequenceNr();
      var event = envelope.event();
      if (event instanceof LedgerAccount.AccountOpened o) {
        opened.add(new BalanceRepository.Opened(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(),
            o.openedAt(), version));
      } else if (event instanceof LedgerAccount.Movement m) {
        keepLatest(latest, new BalanceRepository.BalanceChanged(m.accountId(), m.balanceAfter(), version,
            m.occurredAt()));
        if (m instanceof LedgerAccount.TransferDebited d && d.heldAfter() != null) {
          keepLatestHeld(latestHeld, new BalanceRepository.HeldChanged(d.accountId(), d.heldAfter(), version,
              d.occurredAt()));
        }
      } else if (event instanceof LedgerAccount.FundsHeld h) {
        keepLatestHeld(latestHeld, new BalanceRepository.HeldChanged(h.accountId(), h.heldAfter(), version,
            h.occurredAt()));
      } else if (event instanceof LedgerAccount.HoldReleased r) {
        keepLatestHeld(latestHeld, new BalanceRepository.HeldChanged(r.accountId(), r.heldAfter(), version,
            r.occurredAt()));
      }
    }
    var writes = new ArrayList<BalanceRepository.Write>(opened);
    writes.addAll(latest.values());
    writes.addAll(latestHeld.values());
    return writes;
  }

  private static void keepLatestHeld(
      LinkedHashMap<String, BalanceRepository.HeldChanged> latest, BalanceRepository.HeldChanged change) {
    latest.merge(change.accountId(), change, (a, b) -> b.version() >= a.version() ? b : a);
  }

  private static void keepLatest(
      LinkedHashMap<String, BalanceRepository.BalanceChanged> latest, BalanceRepository.BalanceChanged change) {
    latest.merge(change.accountId(), change, (a, b) -> b.version() >= a.version() ? b : a);
  }
}
