package io.plaza.ledger;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `transfers` read model (projections/transfers.cql). Writes are idempotent: a row keeps its newest status. */
public interface TransferRepository {

  /** One row: the request, where the saga stands, and when each step happened. */
  record TransferRow(
      String transferId, Transfer.Request request, Transfer.Status status, String detail, Integer problemStatus,
      Map<String, Instant> steps, Instant createdAt, Instant finishedAt, Instant expiresAt, Long postedAmount,
      long version) {}

  /**
   * What one event changes. {@code request} and {@code createdAt} only on the first event; {@code steps} are added to
   * the row's steps; {@code version} is the event's sequence number.
   */
  record Change(
      String transferId, long version, Transfer.Request request, Instant createdAt, Transfer.Status status,
      String detail, Integer problemStatus, Map<String, Instant> steps, Instant finishedAt, Instant expiresAt,
      Long postedAmount) {

    Change(String transferId, long version, Transfer.Request request, Instant createdAt, Transfer.Status status,
        String detail, Integer problemStatus, Map<String, Instant> steps, Instant finishedAt) {
      this(transferId, version, request, createdAt, status, detail, problemStatus, steps, finishedAt, null, null);
    }
  }

  CompletionStage<Done> apply(List<Change> changes);

  /**
   * A transfer its source account coordinates, debited but not seen settled: kept in partition {@code (tag, minute)}
   * of `transfers_unsettled` until a sweep finds it settled.
   */
  record Unsettled(String tag, Instant minute, String transferId, String fromAccount, Instant debitedAt) {}

  CompletionStage<Done> markUnsettled(List<Unsettled> transfers);

  CompletionStage<List<Unsettled>> unsettled(String tag, Instant minute);

  CompletionStage<Done> forgetUnsettled(Unsettled transfer);

  CompletionStage<Optional<TransferRow>> find(String transferId);
}
