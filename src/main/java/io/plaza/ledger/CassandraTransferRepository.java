package io.plaza.ledger;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * `transfers` on Cassandra. One UPDATE per event, {@code USING TIMESTAMP <sequence number>}, setting only the columns
 * the event knows (the rest stay unset, not nulled), so events may land in any order and any number of times.
 */
public final class CassandraTransferRepository implements TransferRepository {

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> update;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> insertUnsettled;
  private final CompletionStage<PreparedStatement> selectUnsettled;
  private final CompletionStage<PreparedStatement> deleteUnsettled;

  public CassandraTransferRepository(CassandraSession session, String keyspace) {
    this.session = session;
    update = session.prepare("UPDATE " + keyspace + ".transfers USING TIMESTAMP :version SET "
        + "requester = :requester, from_account = :from_account, to_account = :to_account, amount = :amount, "
        + "currency = :currency, reference = :reference, hold_seconds = :hold_seconds, reverses = :reverses, "
        + "created_at = :created_at, "
        + "expires_at = :expires_at, posted_amount = :posted_amount, status = :status, "
        + "detail = :detail, problem_status = :problem_status, steps = steps + :steps, finished_at = :finished_at, "
        + "version = :version WHERE transfer_id = :transfer_id");
    select = session.prepare("SELECT transfer_id, requester, from_account, to_account, amount, currency, reference, "
        + "hold_seconds, reverses, expires_at, posted_amount, status, detail, problem_status, steps, created_at, finished_at, "
        + "version FROM " + keyspace
        + ".transfers WHERE transfer_id = ?");
    insertUnsettled = session.prepare("INSERT INTO " + keyspace + ".transfers_unsettled (tag, minute, transfer_id, "
        + "from_account, debited_at) VALUES (?, ?, ?, ?, ?)");
    selectUnsettled = session.prepare("SELECT transfer_id, from_account, debited_at FROM " + keyspace
        + ".transfers_unsettled WHERE tag = ? AND minute = ?");
    deleteUnsettled = session.prepare("DELETE FROM " + keyspace
        + ".transfers_unsettled WHERE tag = ? AND minute = ? AND transfer_id = ?");
  }

  @Override
  public CompletionStage<Done> markUnsettled(List<Unsettled> transfers) {
    return Cassandra.writeAll(transfers, u -> insertUnsettled.thenCompose(ps -> session.executeWrite(
        ps.bind(u.tag(), u.minute(), u.transferId(), u.fromAccount(), u.debitedAt()))));
  }

  @Override
  public CompletionStage<List<Unsettled>> unsettled(String tag, Instant minute) {
    return selectUnsettled.thenCompose(ps -> session.selectAll(ps.bind(tag, minute))).thenApply(rows -> rows.stream()
        .map(r -> new Unsettled(tag, minute, r.getString("transfer_id"), r.getString("from_account"),
            r.getInstant("debited_at"))).toList());
  }

  @Override
  public CompletionStage<Done> forgetUnsettled(Unsettled u) {
    return deleteUnsettled.thenCompose(ps -> session.executeWrite(ps.bind(u.tag(), u.minute(), u.transferId())));
  }

  @Override
  public CompletionStage<Done> apply(List<Change> changes) {
    return Cassandra.writeAll(changes, this::execute);
  }

  private CompletionStage<Done> execute(Change c) {
    return update.thenCompose(ps -> {
      var b = ps.boundStatementBuilder()
          .setString("transfer_id", c.transferId())
          .setLong("version", c.version())
          .setString("status", c.status().name())
          .setMap("steps", c.steps(), String.class, Instant.class);
      var r = c.request();
      if (r != null) {
        b = b.setString("requester", r.requester()).setString("from_account", r.from())
            .setString("to_account", r.to()).setLong("amount", r.amount()).setString("currency", r.currency())
            .setString("reference", r.reference()).setLong("hold_seconds", r.holdSeconds())
            .setString("reverses", r.reverses())
            .setInstant("created_at", c.createdAt());
      }
      if (c.detail() != null) b = b.setString("detail", c.detail());
      if (c.problemStatus() != null) b = b.setInt("problem_status", c.problemStatus());
      if (c.finishedAt() != null) b = b.setInstant("finished_at", c.finishedAt());
      if (c.expiresAt() != null) b = b.setInstant("expires_at", c.expiresAt());
      if (c.postedAmount() != null) b = b.setLong("posted_amount", c.postedAmount());
      return session.executeWrite(b.build());
    });
  }

  @Override
  public CompletionStage<Optional<TransferRow>> find(String transferId) {
    return select.thenCompose(ps -> session.selectOne(ps.bind(transferId)))
        .thenApply(row -> row.filter(r -> r.getString("status") != null && r.getString("requester") != null)
            .map(CassandraTransferRepository::toRow));
  }

  private static TransferRow toRow(Row row) {
    var request = new Transfer.Request(row.getString("requester"), row.getString("from_account"),
        row.getString("to_account"), row.getLong("amount"), row.getString("currency"), row.getString("reference"),
        row.isNull("hold_seconds") ? 0 : row.getLong("hold_seconds"), row.getString("reverses"));
    return new TransferRow(row.getString("transfer_id"), request, Transfer.Status.valueOf(row.getString("status")),
        row.getString("detail"), row.isNull("problem_status") ? null : row.getInt("problem_status"),
        row.getMap("steps", String.class, Instant.class), row.getInstant("created_at"),
        row.getInstant("finished_at"), row.getInstant("expires_at"),
        row.isNull("posted_amount") ? null : row.getLong("posted_amount"), row.getLong("version"));
  }
}
