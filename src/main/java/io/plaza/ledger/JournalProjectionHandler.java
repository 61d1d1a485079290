package io.plaza.ledger;

import io.plaza.ledger.JournalRepository.Entry;
import io.plaza.ledger.JournalRepository.Side;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `journal` up to date: one entry per balance-changing account event, keyed by its sequence number (a
 * re-delivered event rewrites the same row). The transfer's other leg is written from the other account's event.
 */
public final class JournalProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  /** Deposits and withdrawals move money between the ledger and the outside world. */
  public static final String WORLD = "@world";

  private final JournalRepository repository;

  public JournalProjectionHandler(JournalRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    var entries = new ArrayList<Entry>(envelopes.size());
    for (var envelope : envelopes) {
      if (envelope.event() instanceof LedgerAccount.Movement m) entries.add(entryFor(m, envelope.sequenceNr()));
    }
    return repository.append(entries);
  }

  static Entry entryFor(LedgerAccount.Movement m, long seq) {
    var transferId = m.transferId();
    // A refund's money comes back from the transfer itself, not from another account.
    var counterparty = transferId == null ? WORLD : m.counterparty();
    var side = switch (m.kind()) {
      case WITHDRAWAL, TRANSFER_DEBIT -> Side.DEBIT;
      case DEPOSIT, TRANSFER_CREDIT, TRANSFER_REFUND -> Side.CREDIT;
      case HOLD, HOLD_RELEASE, EXPECT, EXPECT_CANCEL -> throw new IllegalStateException("not a movement");
    };
    // Spelled out, not taken from enum names: this is part of the API.
    var type = switch (m.kind()) {
      case DEPOSIT -> "deposit";
      case WITHDRAWAL -> "withdrawal";
      case TRANSFER_DEBIT -> "transfer";
      case TRANSFER_CREDIT -> "transfer";
      case TRANSFER_REFUND -> "refund";
      case HOLD, HOLD_RELEASE, EXPECT, EXPECT_CANCEL -> throw new IllegalStateException("not a movement");
    };
    return new Entry(m.accountId(), seq, type, side, m.amount(), m.balanceAfter(), transferId,
        transferId == null ? m.operationId() : null, counterparty, m.occurredAt());
  }
}
