package io.plaza.ledger;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * The public contract of topic `plaza.ledger.transfers` (projections/ledger-transfers-kafka.md): one message per
 * state change of a transfer, keyed by transfer id. Versioned apart from the journal events; fields are only added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TransferEventMessage(
    int schemaVersion,
    String type,
    String transferId,
    long sequenceNr,
    Instant occurredAt,
    String status,
    String requester,
    String from,
    String to,
    Long amount,
    String currency,
    String reference,
    String detail,
    Long holdSeconds,
    Instant expiresAt,
    Long postedAmount,
    String reverses) {

  public static final int SCHEMA_VERSION = 1;

  public static TransferEventMessage of(Transfer.Event event, long sequenceNr) {
    var id = event.transferId();
    if (event instanceof Transfer.Requested e) {
      var r = e.request();
      return new TransferEventMessage(SCHEMA_VERSION, "TransferRequested", id, sequenceNr, e.initiatedAt(),
          "PENDING", r.requester(), r.from(), r.to(), r.amount(), r.currency(), r.reference(), null,
          r.holdSeconds() > 0 ? r.holdSeconds() : null, null, null, r.reverses());
    }
    if (event instanceof Transfer.Held e) {
      return new TransferEventMessage(SCHEMA_VERSION, "TransferHeld", id, sequenceNr, e.heldAt(), "HELD", null, null,
          null, null, null, null, null, null, e.expiresAt(), null, null);
    }
    if (event instanceof Transfer.PostRequested e) {
      return new TransferEventMessage(SCHEMA_VERSION, "TransferPostRequested", id, sequenceNr, e.at(), "PENDING",
          null, null, null, null, null, null, null, null, null, e.amount(), null);
    }
    if (event instanceof Transfer.VoidRequested e) {
      return state(e.expired() ? "TransferExpired" : "TransferVoidRequested", id, sequenceNr, e.at(), "PENDING",
          null);
    }
    if (event instanceof Transfer.Voided e) {
      return state("TransferVoided", id, sequenceNr, e.at(), e.expired() ? "EXPIRED" : "VOIDED", null);
    }
    // Spelled out, not taken from class names: the contract must not change when code is refactored.
    if (event instanceof Transfer.CreditRefused e) {
      return state("TransferCreditRefused", id, sequenceNr, e.at(), "PENDING", e.reason());
    }
    if (event instanceof Transfer.Completed e) {
      return state("TransferCompleted", id, sequenceNr, e.at(), "COMPLETED", null);
    }
    if (event instanceof Transfer.Failed e) {
      return state("TransferFailed", id, sequenceNr, e.at(), "FAILED", e.rejection().detail());
    }
    if (event instanceof Transfer.Compensated e) {
      return state("TransferCompensated", id, sequenceNr, e.at(), "COMPENSATED", null);
    }
    var e = (Transfer.Parked) event;
    return state("TransferParked", id, sequenceNr, e.at(), "PARKED", e.reason());
  }

  /**
   * The state changes of a transfer its source account coordinates ({@link LedgerAccount.Send}), from that account's
   * events; null for every other account event. {@code sequenceNr} is the source account's: it increases along each
   * transfer, with gaps.
   */
  public static TransferEventMessage ofAccountEvent(LedgerAccount.Event event, long sequenceNr) {
    if (event instanceof LedgerAccount.TransferDebited e && e.coordinated()) {
      var r = e.request();
      return new TransferEventMessage(SCHEMA_VERSION, "TransferRequested", e.transferId(), sequenceNr, e.occurredAt(),
          "PENDING", r.requester(), r.from(), r.to(), r.amount(), r.currency(), r.reference(), null, null, null, null,
          null);
    }
    if (event instanceof LedgerAccount.TransferSettled e) {
      return e.parkedReason() == null
          ? state("TransferCompleted", e.transferId(), sequenceNr, e.occurredAt(), "COMPLETED", null)
          : state("TransferParked", e.transferId(), sequenceNr, e.occurredAt(), "PARKED", e.parkedReason());
    }
    if (event instanceof LedgerAccount.TransferRefunded e && e.creditRefusal() != null) {
      return state("TransferCompensated", e.transferId(), sequenceNr, e.occurredAt(), "COMPENSATED",
          e.creditRefusal());
    }
    if (event instanceof LedgerAccount.TransferRefused e) {
      var r = e.request();
      return new TransferEventMessage(SCHEMA_VERSION, "TransferFailed", e.transferId(), sequenceNr, e.occurredAt(),
          "FAILED", r.requester(), r.from(), r.to(), r.amount(), r.currency(), r.reference(),
          e.rejection().detail(), null, null, null, null);
    }
    return null;
  }

  /** The transfer id of an account event {@link #ofAccountEvent} publishes. */
  public static String transferIdOf(LedgerAccount.Event event) {
    if (event instanceof LedgerAccount.TransferSettled e) return e.transferId();
    if (event instanceof LedgerAccount.TransferRefused e) return e.transferId();
    return ((LedgerAccount.Movement) event).transferId();
  }

  private static TransferEventMessage state(
      String type, String id, long sequenceNr, Instant at, String status, String detail) {
    return new TransferEventMessage(SCHEMA_VERSION, type, id, sequenceNr, at, status, null, null, null, null, null,
        null, detail, null, null, null, null);
  }
}
