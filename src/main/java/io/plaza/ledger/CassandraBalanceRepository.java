package io.plaza.ledger;

import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * `balances` on Cassandra. Each write carries {@code USING TIMESTAMP <version>}: Cassandra keeps the cell with the
 * highest timestamp, so replays after a projection restart and out-of-order retries can never roll a balance back.
 */
public final class CassandraBalanceRepository implements BalanceRepository {

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> insertOpened;
  private final CompletionStage<PreparedStatement> updateBalance;
  private final CompletionStage<PreparedStatement> updateHeld;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> selectByOwner;

  public CassandraBalanceRepository(CassandraSession session, String keyspace) {
    this.session = session;
    insertOpened = session.prepare("INSERT INTO " + keyspace + ".balances "
        + "(account_id, owner, currency, overdraft_limit, opened_at, balance, version, updated_at) "
        + "VALUES (?, ?, ?, ?, ?, 0, ?, ?) USING TIMESTAMP ?");
    // Sets only what a movement changes, so an Opened with a lower timestamp still fills owner and currency.
    updateBalance = session.prepare("UPDATE " + keyspace + ".balances USING TIMESTAMP ? "
        + "SET balance = ?, version = ?, updated_at = ? WHERE account_id = ?");
    updateHeld = session.prepare("UPDATE " + keyspace + ".balances USING TIMESTAMP ? "
        + "SET held = ? WHERE account_id = ?");
    select = session.prepare("SELECT account_id, owner, currency, overdraft_limit, balance, held, version, opened_at, "
        + "updated_at FROM " + keyspace + ".balances WHERE account_id = ?");
    // Served by the balances_by_owner index (projections/balances.cql).
    selectByOwner = session.prepare("SELECT account_id, owner, currency, overdraft_limit, balance, held, version, "
        + "opened_at, updated_at FROM " + keyspace + ".balances WHERE owner = ? LIMIT ?");
  }

  @Override
  public CompletionStage<List<Balance>> ofOwner(String owner, int limit) {
    return selectByOwner.thenCompose(ps -> session.selectAll(ps.bind(owner, limit)))
        .thenApply(rows -> rows.stream().map(CassandraBalanceRepository::toBalance).toList());
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
      var b = (BalanceChanged) write;
      statement = updateBalance.thenApply(ps -> ps.bind(b.version(), b.balance(), b.version(), b.at(),
          b.accountId()));
    }
    return statement.thenCompose(session::executeWrite);
  }

  @Override
  public CompletionStage<Optional<Balance>> find(String accountId) {
    return select.thenCompose(ps -> session.selectOne(ps.bind(accountId)))
        .thenApply(row -> row.map(CassandraBalanceRepository::toBalance));
  }

  private static Balance toBalance(Row row) {
    return new Balance(row.getString("account_id"), row.getString("owner"), row.getString("currency"),
        row.getLong("overdraft_limit"), row.getLong("balance"), row.isNull("held") ? 0 : row.getLong("held"),
        row.getLong("version"),
        row.getInstant("opened_at"), row.getInstant("updated_at"));
  }
}
