package io.plaza.ledger;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `transfers` up to date for the transfers a source account coordinates ({@link LedgerAccount.Send}): their
 * rows come from the source account's events, in that account's order, with its sequence numbers as versions. A saga
 * transfer's rows come from its own events ({@link TransfersProjectionHandler}); its legs here change no row.
 */
public final class AccountTransfersProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private final TransferRepository repository;

  public AccountTransfersProjectionHandler(TransferRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    return repository.apply(envelopes.stream().map(env -> changeFor(env.event(), env.sequenceNr()))
        .filter(Objects::nonNull).toList());
  }

  /** The row change of an account event, or null when it is no coordinated transfer's. */
  static TransferRepository.Change changeFor(LedgerAccount.Event event, long version) {
    if (event instanceof LedgerAccount.TransferDebited e && e.coordinated()) {
      return new TransferRepository.Change(e.transferId(), version, e.request(), e.occurredAt(),
          Transfer.Status.PENDING, null, null, steps("requested", e.occurredAt(), "debited", e.occurredAt()), null);
    }
    if (event instanceof LedgerAccount.TransferSettled e) {
      if (e.parkedReason() != null) {
        return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.PARKED,
            e.parkedReason(), null, Map.of("parked", e.occurredAt()), e.occurredAt());
      }
      return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.COMPLETED, null, null,
          Map.of("credited", e.creditedAt()), e.occurredAt());
    }
    if (event instanceof LedgerAccount.TransferRefunded e && e.creditRefusal() != null) {
      return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.COMPENSATED,
          e.creditRefusal(), null, steps("credit refused", e.occurredAt(), "refunded", e.occurredAt()),
          e.occurredAt());
    }
    if (event instanceof LedgerAccount.TransferRefused e) {
      return new TransferRepository.Change(e.transferId(), version, e.request(), e.occurredAt(),
          Transfer.Status.FAILED, e.rejection().detail(), e.rejection().kind().status,
          steps("requested", e.occurredAt(), "refused", e.occurredAt()), e.occurredAt());
    }
    return null;
  }

  private static Map<String, Instant> steps(String a, Instant atA, String b, Instant atB) {
    var steps = new LinkedHashMap<String, Instant>();
    steps.put(a, atA);
    steps.put(b, atB);
    return steps;
  }
}
