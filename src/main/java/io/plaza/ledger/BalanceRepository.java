package io.plaza.ledger;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `balances` read model (projections/balances.cql). Writes are idempotent: a row keeps its highest version. */
public interface BalanceRepository {

  /** One row of the read model; {@code held} is reserved by pending transfers (available = balance - held). */
  record Balance(
      String accountId, String owner, String currency, long overdraftLimit, long balance, long held, long version,
      Instant openedAt, Instant updatedAt) {}

  /** A change derived from events; {@code version} is the event's sequence number. */
  sealed interface Write {
    String accountId();

    long version();
  }

  record Opened(String accountId, String owner, String currency, long overdraftLimit, Instant openedAt, long version)
      implements Write {}

  record BalanceChanged(String accountId, long balance, long version, Instant at) implements Write {}

  /** The total held by pending transfers changed (a hold placed, captured or released). */
  record HeldChanged(String accountId, long held, long version, Instant at) implements Write {}

  CompletionStage<Done> apply(List<Write> writes);

  CompletionStage<Optional<Balance>> find(String accountId);

  /** The accounts {@code owner} opened (at most {@code limit}), as far as the read model has them. */
  CompletionStage<List<Balance>> ofOwner(String owner, int limit);
}
