package io.plaza.timeline;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import io.plaza.platform.Cassandra;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** `user_posts` on Cassandra, in buckets of {@link #BUCKET_SIZE} posts per author. */
public final class CassandraUserPostsRepository implements UserPostsRepository {

  /** Fixed forever once rows are written: readers compute the bucket from the post number. */
  public static final long BUCKET_SIZE = 1_000;

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> delete;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> selectOne;

  public CassandraUserPostsRepository(CassandraSession session, String keyspace) {
    this.session = session;
    var table = keyspace + ".user_posts";
    insert = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET text = ?, created_at = ? "
        + "WHERE author_id = ? AND bucket = ? AND number = ?");
    delete = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET text = null, deleted_at = ? "
        + "WHERE author_id = ? AND bucket = ? AND number = ?");
    select = session.prepare("SELECT number, text, created_at, deleted_at FROM " + table
        + " WHERE author_id = ? AND bucket = ? AND number < ? LIMIT ?");
    selectOne = session.prepare("SELECT created_at FROM " + table
        + " WHERE author_id = ? AND bucket = ? AND number = ?");
  }

  @Override
  public CompletionStage<java.util.Optional<java.time.Instant>> createdAt(String author, long number) {
    return selectOne.thenCompose(ps -> session.selectOne(ps.bind(author, number / BUCKET_SIZE, number)))
        .thenApply(row -> row.map(r -> r.getInstant("created_at")));
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    return Cassandra.writeAll(writes, this::execute);
  }

  private CompletionStage<Done> execute(Write w) {
    if (w instanceof Created c) {
      return insert.thenCompose(ps -> session.executeWrite(ps.bind(c.version(), c.text(), c.at(), c.author(),
          c.number() / BUCKET_SIZE, c.number())));
    }
    var d = (Deleted) w;
    return delete.thenCompose(ps -> session.executeWrite(ps.bind(d.version(), d.at(), d.author(),
        d.number() / BUCKET_SIZE, d.number())));
  }

  @Override
  public CompletionStage<List<Post>> page(String author, long before, int limit) {
    if (before <= 1) return CompletableFuture.completedFuture(List.of());
    return collect(author, (before - 1) / BUCKET_SIZE, before, limit, new ArrayList<>());
  }

  /** Walks the buckets down from {@code bucket} until {@code limit} live posts are found or none are left. */
  private CompletionStage<List<Post>> collect(String author, long bucket, long before, int limit, List<Post> found) {
    return select.thenCompose(ps -> session.selectAll(ps.bind(author, bucket, before, limit - found.size() + 50)))
        .thenCompose(rows -> {
          long lowest = before;
          for (var row : rows) {
            lowest = row.getLong("number");
            if (row.getInstant("deleted_at") != null || row.getInstant("created_at") == null) continue;
            if (found.size() < limit) {
              found.add(new Post(UserTimeline.postId(author, lowest), author, lowest, row.getString("text"),
                  row.getInstant("created_at")));
            }
          }
          if (found.size() >= limit) return CompletableFuture.completedFuture(List.copyOf(found));
          // Rows left in this bucket below the lowest seen, or the next bucket down.
          boolean bucketExhausted = rows.size() < limit - found.size() + 50 || lowest <= bucket * BUCKET_SIZE;
          if (bucketExhausted && bucket == 0) return CompletableFuture.completedFuture(List.copyOf(found));
          return bucketExhausted ? collect(author, bucket - 1, bucket * BUCKET_SIZE, limit, found)
              : collect(author, bucket, lowest, limit, found);
        });
  }
}
