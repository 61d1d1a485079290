package io.plaza.ledger;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * `journal_entries` on Cassandra. An account's entries are spread over partitions of {@link #BUCKET_SIZE} sequence
 * numbers, so a busy account never grows one unbounded partition; a page reads on into the next bucket when needed.
 */
public final class CassandraJournalRepository implements JournalRepository {

  /** Fixed forever once rows are written: readers compute the bucket from the sequence number. */
  public static final long BUCKET_SIZE = 10_000;

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> selectLatest;

  public CassandraJournalRepository(CassandraSession session, String keyspace) {
    this.session = session;
    insert = session.prepare("INSERT INTO " + keyspace + ".journal_entries (account_id, bucket, seq, entry_type, "
        + "side, amount, balance_after, transfer_id, operation_id, counterparty, occurred_at) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    select = session.prepare("SELECT account_id, seq, entry_type, side, amount, balance_after, transfer_id, "
        + "operation_id, counterparty, occurred_at FROM " + keyspace + ".journal_entries "
        + "WHERE account_id = ? AND bucket = ? AND seq > ? LIMIT ?");
    selectLatest = session.prepare("SELECT account_id, seq, entry_type, side, amount, balance_after, transfer_id, "
        + "operation_id, counterparty, occurred_at FROM " + keyspace + ".journal_entries "
        + "WHERE account_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1");
  }

  public static long bucketOf(long seq) {
    return seq / BUCKET_SIZE;
  }

  @Override
  public CompletionStage<Done> append(List<Entry> entries) {
    return Cassandra.writeAll(entries, e -> insert.thenCompose(ps -> {
      // Absent values stay unset: binding null would write a tombstone per empty cell.
      var b = ps.boundStatementBuilder(e.accountId(), bucketOf(e.seq()), e.seq(), e.type(), e.side().name(),
          e.amount(), e.balanceAfter());
      if (e.transferId() != null) b = b.setString("transfer_id", e.transferId());
      if (e.operationId() != null) b = b.setString("operation_id", e.operationId());
      if (e.counterparty() != null) b = b.setString("counterparty", e.counterparty());
      if (e.occurredAt() != null) b = b.setInstant("occurred_at", e.occurredAt());
      return session.executeWrite(b.build());
    }));
  }

  @Override
  public CompletionStage<Optional<Entry>> latest(String accountId, long bucketHint) {
    return selectLatest.thenCompose(ps -> session.selectOne(ps.bind(accountId, bucketHint))).thenCompose(row -> {
      // The hint can be written before the first entry of its bucket lands: the newest entry is then in the one before.
      if (row.isEmpty() && bucketHint > 0) return latest(accountId, bucketHint - 1);
      return CompletableFuture.completedFuture(row.map(CassandraJournalRepository::toEntry));
    });
  }

  @Override
  public CompletionStage<List<Entry>> page(String accountId, long afterSeq, int limit) {
    return pageFrom(accountId, bucketOf(afterSeq + 1), afterSeq, limit, new ArrayList<>());
  }

  private CompletionStage<List<Entry>> pageFrom(
      String accountId, long bucket, long afterSeq, int limit, List<Entry> found) {
    return select.thenCompose(ps -> session.selectAll(ps.bind(accountId, bucket, afterSeq, limit - found.size())))
        .thenCompose(rows -> {
          rows.forEach(row -> found.add(toEntry(row)));
          // Only opening and closing are not movements, so no bucket after the first is empty: an empty one ends
          // the account's entries, a short one may still be followed by the next.
          if (found.size() >= limit || rows.isEmpty()) return CompletableFuture.completedFuture(found);
          return pageFrom(accountId, bucket + 1, found.get(found.size() - 1).seq(), limit, found);
        });
  }

  static Entry toEntry(Row row) {
    return new Entry(row.getString("account_id"), row.getLong("seq"), row.getString("entry_type"),
        Side.valueOf(row.getString("side")), row.getLong("amount"), row.getLong("balance_after"),
        row.getString("transfer_id"), row.getString("operation_id"), row.getString("counterparty"),
        row.getInstant("occurred_at"));
  }
}
