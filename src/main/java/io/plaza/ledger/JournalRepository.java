package io.plaza.ledger;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `journal` read model (projections/journal.cql): each account's entries in event order. */
public interface JournalRepository {

  /** DEBIT takes money out of the account, CREDIT puts it in. */
  enum Side { DEBIT, CREDIT }

  /**
   * One entry. {@code seq} is the account event's sequence number; {@code transferId} is set on transfer legs,
   * {@code operationId} on deposits and withdrawals (the client's Idempotency-Key).
   */
  record Entry(
      String accountId, long seq, String type, Side side, long amount, long balanceAfter, String transferId,
      String operationId, String counterparty, Instant occurredAt) {}

  CompletionStage<Done> append(List<Entry> entries);

  /**
   * The account's newest entry, looked up from {@code bucketHint} (the highest bucket its entries are known to have
   * reached): its {@code balanceAfter} is the account's balance as far as this read model has it.
   */
  CompletionStage<Optional<Entry>> latest(String accountId, long bucketHint);

  /** Up to {@code limit} entries of the account with a sequence number above {@code afterSeq}, oldest first. */
  CompletionStage<List<Entry>> page(String accountId, long afterSeq, int limit);
}
