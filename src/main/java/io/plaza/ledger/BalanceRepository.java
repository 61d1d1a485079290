package io.plaza.ledger;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * The `balances` read model (projections/balances.cql): what an account is (owner, currency, limit, opening) and what
 * pending transfers hold. The posted balance is not written here: it is the {@code balanceAfter} of the account's
 * newest `journal` entry, which every movement writes anyway, so a movement costs one read-model write, not two.
 * Writes are idempotent: a column keeps its highest version.
 */
public interface BalanceRepository {

  /**
   * An account as the read models have it; {@code held} is reserved by pending transfers (available = balance -
   * held).
   */
  record Balance(
      String accountId, String owner, String currency, long overdraftLimit, long balance, long held, long version,
      Instant openedAt, Instant updatedAt) {

    /** The account row with the newest journal entry's balance, if the account has moved money yet. */
    static Balance of(Balance row, Optional<JournalRepository.Entry> latest) {
      if (latest.isEmpty() || latest.get().seq() < row.version()) return row;
      var entry = latest.get();
      return new Balance(row.accountId(), row.owner(), row.currency(), row.overdraftLimit(), entry.balanceAfter(),
          row.held(), entry.seq(), row.openedAt(), entry.occurredAt() != null ? entry.occurredAt() : row.updatedAt());
    }
  }

  /** A change derived from events; {@code version} orders the writes of one column. */
  sealed interface Write {
    String accountId();

    long version();
  }

  record Opened(String accountId, String owner, String currency, long overdraftLimit, Instant openedAt, long version)
      implements Write {}

  /** The total held by pending transfers changed (a hold placed, captured or released). */
  record HeldChanged(String accountId, long held, long version, Instant at) implements Write {}

  /**
   * The account's journal entries reached {@code bucket} (of {@link CassandraJournalRepository#BUCKET_SIZE} events):
   * where a balance read finds the newest entry. Only accounts with that many events ever write it.
   */
  record JournalReached(String accountId, long bucket) implements Write {
    @Override
    public long version() {
      return bucket;
    }
  }

  CompletionStage<Done> apply(List<Write> writes);

  CompletionStage<Optional<Balance>> find(String accountId);

  /** The accounts {@code owner} opened (at most {@code limit}), as far as the read model has them. */
  CompletionStage<List<Balance>> ofOwner(String owner, int limit);
}
