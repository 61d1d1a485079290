package io.plaza.ledger;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `balances` up to date. A group of envelopes becomes at most two writes per account (its opening and its
 * latest balance): events carry the balance after them, so the intermediate ones need not be written.
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
    for (var envelope : envelopes) {
      long version = envelope.sequenceNr();
      var event = envelope.event();
      if (event instanceof LedgerAccount.AccountOpened o) {
        opened.add(new BalanceRepository.Opened(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(),
            o.openedAt(), version));
      } else if (event instanceof LedgerAccount.Movement m) {
        keepLatest(latest, new BalanceRepository.BalanceChanged(m.accountId(), m.balanceAfter(), version,
            m.occurredAt()));
      }
    }
    var writes = new ArrayList<BalanceRepository.Write>(opened);
    writes.addAll(latest.values());
    return writes;
  }

  private static void keepLatest(
      LinkedHashMap<String, BalanceRepository.BalanceChanged> latest, BalanceRepository.BalanceChanged change) {
    latest.merge(change.accountId(), change, (a, b) -> b.version() >= a.version() ? b : a);
  }
}
