package io.plaza.ledger;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/** Keeps `transfers` up to date: one idempotent row update per transfer event. */
public final class TransfersProjectionHandler extends Handler<List<EventEnvelope<Transfer.Event>>> {

  private final TransferRepository repository;

  public TransfersProjectionHandler(TransferRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<Transfer.Event>> envelopes) {
    return repository.apply(envelopes.stream().map(env -> changeFor(env.event(), env.sequenceNr())).toList());
  }

  static TransferRepository.Change changeFor(Transfer.Event event, long version) {
    var id = event.transferId();
    if (event instanceof Transfer.Requested e) {
      return new TransferRepository.Change(id, version, e.request(), e.initiatedAt(), Transfer.Status.PENDING, null,
          null, Map.of("requested", e.initiatedAt()), null);
    }
    if (event instanceof Transfer.Held e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.HELD, null, null,
          Map.of("held", e.heldAt()), null, e.expiresAt(), null);
    }
    if (event instanceof Transfer.PostRequested e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.PENDING, null, null,
          Map.of("post requested", e.at()), null, null, e.amount());
    }
    if (event instanceof Transfer.VoidRequested e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.PENDING, null, null,
          Map.of(e.expired() ? "expired" : "void requested", e.at()), null);
    }
    if (event instanceof Transfer.Voided e) {
      return new TransferRepository.Change(id, version, null, null,
          e.expired() ? Transfer.Status.EXPIRED : Transfer.Status.VOIDED, null, null, Map.of("released", e.releasedAt()),
          e.at());
    }
    if (event instanceof Transfer.CreditRefused e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.PENDING, e.reason(), null,
          steps("debited", e.debitedAt(), "credit refused", e.at()), null);
    }
    if (event instanceof Transfer.Completed e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.COMPLETED, null, null,
          steps("debited", e.debitedAt(), "credited", e.creditedAt()), e.at());
    }
    if (event instanceof Transfer.Failed e) {
      // The step name follows the entity's: a pending transfer's first leg is a hold.
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.FAILED, e.rejection().detail(),
          e.rejection().kind().status, Map.of("refused", e.at()), e.at());
    }
    if (event instanceof Transfer.Compensated e) {
      return new TransferRepository.Change(id, version, null, null, Transfer.Status.COMPENSATED, null, null,
          Map.of("refunded", e.refundedAt()), e.at());
    }
    var e = (Transfer.Parked) event;
    return new TransferRepository.Change(id, version, null, null, Transfer.Status.PARKED, e.reason(), null,
        Map.of("parked", e.at()), e.at());
  }

  /** Two steps; a time the saga did not learn (null) is left out rather than failing the projection. */
  private static Map<String, java.time.Instant> steps(String a, java.time.Instant atA, String b, java.time.Instant atB) {
    var steps = new java.util.HashMap<String, java.time.Instant>();
    if (atA != null) steps.put(a, atA);
    if (atB != null) steps.put(b, atB);
    return steps;
  }
}
