package io.plaza.ledger;

import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * `balances` on Cassandra, read together with the newest `journal` entry for the posted balance. Each write carries
 * {@code USING TIMESTAMP <version>}: Cassandra keeps the cell with the highest timestamp, so replays after a projection
 * restart and out-of-order retries can never roll a column back.
 */
public final class CassandraBalanceRepository implements BalanceRepository {

  private final CassandraSession session;
  private final JournalRepository journal;
  private final CompletionStage<PreparedStatement> insertOpened;
  private final CompletionStage<PreparedStatement> updateHeld;
  private final CompletionStage<PreparedStatement> updateJournalBucket;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> selectByOwner;

  public CassandraBalanceRepository(CassandraSession session, String keyspace, JournalRepository journal) {
    this.session = session;
    this.journal = journal;
    insertOpened = session.prepare("INSERT INTO " + keyspace + ".balances "
        + "(account_id, owner, currency, overdraft_limit, opened_at, balance, version, updated_at) "
        + "VALUES (?, ?, ?, ?, ?, 0, ?, ?) USING TIMESTAMP ?");
    // The updates set only their own column, so an Opened with a lower timestamp still fills owner and currency.
    updateHeld = session.prepare("UPDATE " + keyspace + ".balances USING TIMESTAMP ? "
        + "SET held = ? WHERE account_id = ?");
    updateJournalBucket = session.prepare("UPDATE " + keyspace + ".balances USING TIMESTAMP ? "
        + "SET journal_bucket = ? WHERE account_id = ?");
    // `balance`, `version` and `updated_at` are written by the opening only (and by releases before 0.4.0): a row's
    // balance is its newest journal entry's, unless the row is newer (a row of an older release, see Balance.of).
    select = session.prepare("SELECT account_id, owner, currency, overdraft_limit, balance, held, version, opened_at, "
        + "updated_at, journal_bucket FROM " + keyspace + ".balances WHERE account_id = ?");
    // Served by the balances_by_owner index (projections/balances.cql).
    selectByOwner = session.prepare("SELECT account_id, owner, currency, overdraft_limit, balance, held, version, "
        + "opened_at, updated_at, journal_bucket FROM " + keyspace + ".balances WHERE owner = ? LIMIT ?");
  }

  @Override
  public CompletionStage<List<Balance>> ofOwner(String owner, int limit) {
    return selectByOwner.thenCompose(ps -> session.selectAll(ps.bind(owner, limit))).thenCompose(rows -> {
      // A user has a handful of accounts (the route asks for at most 100): their journal heads are read in parallel.
      var balances = rows.stream().map(this::withJournal).map(CompletionStage::toCompletableFuture).toList();
      return CompletableFuture.allOf(balances.toArray(CompletableFuture[]::new))
          .thenApply(done -> balances.stream().map(CompletableFuture::join).toList());
    });
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    return Cassandra.writeAll(writes, this::execute);
  }

  private CompletionStage<Done> execute(Write write) {
    CompletionStage<BoundStatement> statement;
    if (write instanceof Opened o) {
      statement = insertOpened.thenApply(ps -> ps.bind(o.accountId(), o.owner(), o.currency(), o.overdraftLimit(),
          o.openedAt(), o.version(), o.openedAt(), o.version()));
    } else if (write instanceof HeldChanged h) {
      statement = updateHeld.thenApply(ps -> ps.bind(h.version(), h.held(), h.accountId()));
    } else {
      var j = (JournalReached) write;
      statement = updateJournalBucket.thenApply(ps -> ps.bind(j.version(), j.bucket(), j.accountId()));
    }
    return statement.thenCompose(session::executeWrite);
  }

  @Override
  public CompletionStage<Optional<Balance>> find(String accountId) {
    return select.thenCompose(ps -> session.selectOne(ps.bind(accountId))).thenCompose(row -> row.isEmpty()
        ? CompletableFuture.completedFuture(Optional.<Balance>empty())
        : withJournal(row.get()).thenApply(Optional::of));
  }

  private CompletionStage<Balance> withJournal(Row row) {
    var account = toBalance(row);
    long bucket = row.isNull("journal_bucket") ? 0 : row.getLong("journal_bucket");
    return journal.latest(account.accountId(), bucket).thenApply(latest -> Balance.of(account, latest));
  }

  private static Balance toBalance(Row row) {
    return new Balance(row.getString("account_id"), row.getString("owner"), row.getString("currency"),
        row.getLong("overdraft_limit"), row.getLong("balance"), row.isNull("held") ? 0 : row.getLong("held"),
        row.getLong("version"),
        row.getInstant("opened_at"), row.getInstant("updated_at"));
  }
}
