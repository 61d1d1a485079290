package io.plaza.ledger;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * Linked batches on topic `plaza.ledger.transfers` (projections/ledger-transfers-kafka.md): one message per state
 * change, keyed by batch id. Versioned apart from the journal events; fields are only added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TransferBatchEventMessage(
    int schemaVersion,
    String type,
    String batchId,
    long sequenceNr,
    Instant occurredAt,
    String status,
    String requester,
    List<Leg> legs,
    Integer failedLeg,
    String detail) {

  public static final int SCHEMA_VERSION = 1;

  /** A leg as published: its transfer id is {@code <batchId>:<index>}. */
  public record Leg(String transferId, String from, String to, long amount, String currency, String reference) {}

  public static TransferBatchEventMessage of(TransferBatch.Event event, long sequenceNr) {
    var id = event.batchId();
    // Spelled out, not taken from class names: the contract must not change when code is refactored.
    if (event instanceof TransferBatch.Requested e) {
      var legs = new java.util.ArrayList<Leg>();
      for (int i = 0; i < e.request().legs().size(); i++) {
        var l = e.request().legs().get(i);
        legs.add(new Leg(TransferBatch.legId(id, i), l.from(), l.to(), l.amount(), l.currency(), l.reference()));
      }
      return new TransferBatchEventMessage(SCHEMA_VERSION, "BatchRequested", id, sequenceNr, e.initiatedAt(),
          "PENDING", e.request().requester(), List.copyOf(legs), null, null);
    }
    if (event instanceof TransferBatch.Reserved e) {
      return state("BatchReserved", id, sequenceNr, e.at(), "PENDING", null, null);
    }
    if (event instanceof TransferBatch.Aborting e) {
      return state("BatchAborting", id, sequenceNr, e.at(), "PENDING", e.leg(), e.rejection().detail());
    }
    if (event instanceof TransferBatch.Completed e) {
      return state("BatchCompleted", id, sequenceNr, e.at(), "COMPLETED", null, null);
    }
    if (event instanceof TransferBatch.Failed e) {
      return state("BatchFailed", id, sequenceNr, e.at(), "FAILED", e.leg(), e.rejection().detail());
    }
    var e = (TransferBatch.Parked) event;
    return state("BatchParked", id, sequenceNr, e.at(), "PARKED", null, e.reason());
  }

  private static TransferBatchEventMessage state(
      String type, String id, long sequenceNr, Instant at, String status, Integer leg, String detail) {
    return new TransferBatchEventMessage(SCHEMA_VERSION, type, id, sequenceNr, at, status, null, null, leg, detail);
  }
}
