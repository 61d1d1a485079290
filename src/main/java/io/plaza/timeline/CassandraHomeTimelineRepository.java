package io.plaza.timeline;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import io.plaza.platform.Cassandra;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** `home_timeline` on Cassandra: one partition per user, clustered newest first. */
public final class CassandraHomeTimelineRepository implements HomeTimelineRepository {

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> delete;
  private final CompletionStage<PreparedStatement> first;
  private final CompletionStage<PreparedStatement> after;
  private final CompletionStage<PreparedStatement> keys;
  private final CompletionStage<PreparedStatement> trim;

  public CassandraHomeTimelineRepository(CassandraSession session, String keyspace) {
    this.session = session;
    var table = keyspace + ".home_timeline";
    insert = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET author_id = ?, text = ? "
        + "WHERE user_id = ? AND created_at = ? AND post_id = ?");
    delete = session.prepare("DELETE FROM " + table + " USING TIMESTAMP ? "
        + "WHERE user_id = ? AND created_at = ? AND post_id = ?");
    first = session.prepare("SELECT post_id, author_id, text, created_at FROM " + table
        + " WHERE user_id = ? LIMIT ?");
    after = session.prepare("SELECT post_id, author_id, text, created_at FROM " + table
        + " WHERE user_id = ? AND (created_at, post_id) < (?, ?) LIMIT ?");
    keys = session.prepare("SELECT created_at FROM " + table + " WHERE user_id = ? LIMIT ?");
    trim = session.prepare("DELETE FROM " + table + " WHERE user_id = ? AND created_at < ?");
  }

  private static long micros(Instant at) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, at);
  }

  @Override
  public CompletionStage<Done> insert(Collection<String> users, Item item) {
    return Cassandra.writeAll(List.copyOf(users), user -> insert.thenCompose(ps -> session.executeWrite(ps.bind(
        micros(item.createdAt()), item.author(), item.text(), user, item.createdAt(), item.postId()))));
  }

  @Override
  public CompletionStage<Done> remove(Collection<String> users, String postId, Instant createdAt,
      Instant deletedAt) {
    // Later than the insert's timestamp however the clocks stand: a deletion always wins.
    long at = Math.max(micros(deletedAt), micros(createdAt) + 1);
    return Cassandra.writeAll(List.copyOf(users), user -> delete.thenCompose(ps -> session.executeWrite(ps.bind(
        at, user, createdAt, postId))));
  }

  @Override
  public CompletionStage<List<Item>> page(String user, TimelineCursor before, int limit) {
    var rows = before == null
        ? first.thenCompose(ps -> session.selectAll(ps.bind(user, limit)))
        : after.thenCompose(ps -> session.selectAll(ps.bind(user, before.createdAt(), before.postId(), limit)));
    return rows.thenApply(list -> list.stream().map(CassandraHomeTimelineRepository::item).toList());
  }

  private static Item item(Row row) {
    return new Item(row.getString("post_id"), row.getString("author_id"), row.getString("text"),
        row.getInstant("created_at"));
  }

  @Override
  public CompletionStage<Done> trim(String user, int keep) {
    return keys.thenCompose(ps -> session.selectAll(ps.bind(user, keep + 1))).thenCompose(rows -> {
      if (rows.size() <= keep) return CompletableFuture.completedFuture(Done.getInstance());
      var oldestKept = rows.get(keep - 1).getInstant("created_at");
      return trim.thenCompose(ps -> session.executeWrite(ps.bind(user, oldestKept)));
    });
  }
}
