package io.plaza.ledger;

import io.plaza.ledger.TransferRepository.Change;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Projects linked batches into `transfers`: one row per leg (id {@code <batchId>:<index>}) carrying the batch's status
 * and steps, so the invariant checker pairs each leg's journal entries like any transfer's.
 */
public final class TransferBatchesProjectionHandler extends Handler<List<EventEnvelope<TransferBatch.Event>>> {

  private final TransferRepository repository;

  public TransferBatchesProjectionHandler(TransferRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<TransferBatch.Event>> envelopes) {
    var changes = new ArrayList<Change>();
    for (var env : envelopes) changes.addAll(changesFor(env.event(), env.sequenceNr()));
    return repository.apply(changes);
  }

  static List<Change> changesFor(TransferBatch.Event event, long version) {
    var changes = new ArrayList<Change>(event.legs());
    for (int i = 0; i < event.legs(); i++) {
      var id = TransferBatch.legId(event.batchId(), i);
      if (event instanceof TransferBatch.Requested e) {
        var leg = e.request().legs().get(i);
        var request = new Transfer.Request(e.request().requester(), leg.from(), leg.to(), leg.amount(),
            leg.currency(), leg.reference());
        changes.add(new Change(id, version, request, e.initiatedAt(), Transfer.Status.PENDING, null, null,
            Map.of("requested", e.initiatedAt()), null));
      } else if (event instanceof TransferBatch.Reserved e) {
        changes.add(state(id, version, Transfer.Status.PENDING, null, null, "reserved", e.at(), null));
      } else if (event instanceof TransferBatch.Aborting e) {
        changes.add(state(id, version, Transfer.Status.PENDING, detail(e.leg(), e.rejection().detail()), null,
            "refused", e.at(), null));
      } else if (event instanceof TransferBatch.Completed e) {
        changes.add(state(id, version, Transfer.Status.COMPLETED, null, null, "committed", e.at(), e.at()));
      } else if (event instanceof TransferBatch.Failed e) {
        changes.add(state(id, version, Transfer.Status.FAILED, detail(e.leg(), e.rejection().detail()),
            e.rejection().kind().status, "released", e.at(), e.at()));
      } else {
        var e = (TransferBatch.Parked) event;
        changes.add(state(id, version, Transfer.Status.PARKED, e.reason(), null, "parked", e.at(), e.at()));
      }
    }
    return changes;
  }

  private static String detail(int leg, String why) {
    return "linked leg " + leg + " was refused: " + why;
  }

  private static Change state(String id, long version, Transfer.Status status, String detail, Integer problem,
      String step, Instant at, Instant finishedAt) {
    return new Change(id, version, null, null, status, detail, problem, Map.of(step, at), finishedAt);
  }
}
