package io.plaza.ledger;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * The public contract of topic `plaza.ledger.accounts` (projections/ledger-accounts-kafka.md), versioned apart from
 * the journal events: consumers depend on this, never on {@link LedgerAccount.Event}. Fields are only ever added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AccountEventMessage(
    int schemaVersion,
    String type,
    String accountId,
    long sequenceNr,
    Instant occurredAt,
    String owner,
    String currency,
    Long overdraftLimit,
    String operationId,
    Long amount,
    Long balance,
    String transferId,
    String counterparty,
    Long held) {

  public static final int SCHEMA_VERSION = 1;

  public static AccountEventMessage of(LedgerAccount.Event event, long sequenceNr) {
    if (event instanceof LedgerAccount.AccountOpened o) {
      return new AccountEventMessage(SCHEMA_VERSION, "AccountOpened", o.accountId(), sequenceNr, o.openedAt(),
          o.owner(), o.currency(), o.overdraftLimit(), null, null, 0L, null, null, null);
    }
    if (event instanceof LedgerAccount.AccountClosed c) {
      return new AccountEventMessage(SCHEMA_VERSION, "AccountClosed", c.accountId(), sequenceNr, c.closedAt(),
          null, null, null, null, null, null, null, null, null);
    }
    if (event instanceof LedgerAccount.FundsHeld h) {
      return new AccountEventMessage(SCHEMA_VERSION, "FundsHeld", h.accountId(), sequenceNr, h.occurredAt(), null,
          null, null, null, h.amount(), null, h.transferId(), h.counterparty(), h.heldAfter());
    }
    if (event instanceof LedgerAccount.CreditExpected x) {
      return new AccountEventMessage(SCHEMA_VERSION, "CreditExpected", x.accountId(), sequenceNr, x.occurredAt(), null,
          null, null, null, x.amount(), null, x.transferId(), null, null);
    }
    if (event instanceof LedgerAccount.ExpectedCreditCancelled x) {
      return new AccountEventMessage(SCHEMA_VERSION, "ExpectedCreditCancelled", x.accountId(), sequenceNr,
          x.occurredAt(), null, null, null, null, x.amount(), null, x.transferId(), null, null);
    }
    if (event instanceof LedgerAccount.HoldReleased r) {
      return new AccountEventMessage(SCHEMA_VERSION, "HoldReleased", r.accountId(), sequenceNr, r.occurredAt(), null,
          null, null, null, r.amount(), null, r.transferId(), null, r.heldAfter());
    }
    // The outcome of a transfer the account coordinates is a transfer's state change: topic plaza.ledger.transfers.
    if (!(event instanceof LedgerAccount.Movement m)) return null;
    var transferId = m.transferId();
    var counterparty = m.counterparty();
    // Transfer legs carry their transfer id instead of an internal operation id.
    var operationId = transferId == null ? m.operationId() : null;
    // Spelled out, not taken from class names: the contract must not change when code is refactored.
    var type = switch (m.kind()) {
      case DEPOSIT -> "FundsDeposited";
      case WITHDRAWAL -> "FundsWithdrawn";
      case TRANSFER_DEBIT -> "TransferDebited";
      case TRANSFER_CREDIT -> "TransferCredited";
      case TRANSFER_REFUND -> "TransferRefunded";
      case HOLD, HOLD_RELEASE, EXPECT, EXPECT_CANCEL -> throw new IllegalStateException("not a movement");
    };
    var held = m instanceof LedgerAccount.TransferDebited d ? d.heldAfter() : null;
    return new AccountEventMessage(SCHEMA_VERSION, type, m.accountId(), sequenceNr,
        m.occurredAt(), null, null, null, operationId, m.amount(), m.balanceAfter(), transferId, counterparty, held);
  }
}
