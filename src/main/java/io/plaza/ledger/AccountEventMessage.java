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
    Long balance) {

  public static final int SCHEMA_VERSION = 1;

  public static AccountEventMessage of(LedgerAccount.Event event, long sequenceNr) {
    if (event instanceof LedgerAccount.AccountOpened o) {
      return new AccountEventMessage(SCHEMA_VERSION, "AccountOpened", o.accountId(), sequenceNr, o.openedAt(),
          o.owner(), o.currency(), o.overdraftLimit(), null, null, 0L);
    }
    if (event instanceof LedgerAccount.FundsDeposited d) {
      return new AccountEventMessage(SCHEMA_VERSION, "FundsDeposited", d.accountId(), sequenceNr, d.occurredAt(),
          null, null, null, d.operationId(), d.amount(), d.balanceAfter());
    }
    var w = (LedgerAccount.FundsWithdrawn) event;
    return new AccountEventMessage(SCHEMA_VERSION, "FundsWithdrawn", w.accountId(), sequenceNr, w.occurredAt(),
        null, null, null, w.operationId(), w.amount(), w.balanceAfter());
  }
}
