package io.plaza.chat;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** `chat_history` on Cassandra, in buckets of {@link #BUCKET_SIZE} messages per conversation. */
public final class CassandraChatHistoryRepository implements ChatHistoryRepository {

  /** Fixed forever once rows are written: readers compute the bucket from the seq. */
  public static final long BUCKET_SIZE = 1_000;

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> edit;
  private final CompletionStage<PreparedStatement> delete;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> selectAfter;
  private final CompletionStage<PreparedStatement> selectNewest;

  public CassandraChatHistoryRepository(CassandraSession session, String keyspace) {
    this.session = session;
    var table = keyspace + ".chat_history";
    insert = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET sender = ?, client_msg_id = ?, body = ?, "
        + "sent_at = ? WHERE conversation_id = ? AND bucket = ? AND seq = ?");
    edit = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET body = ?, edited_at = ? "
        + "WHERE conversation_id = ? AND bucket = ? AND seq = ?");
    delete = session.prepare("UPDATE " + table + " USING TIMESTAMP ? SET body = null, deleted = true, edited_at = ? "
        + "WHERE conversation_id = ? AND bucket = ? AND seq = ?");
    select = session.prepare("SELECT conversation_id, seq, sender, client_msg_id, body, sent_at, edited_at, deleted "
        + "FROM " + table + " WHERE conversation_id = ? AND bucket = ? AND seq < ? LIMIT ?");
    selectAfter = session.prepare("SELECT conversation_id, seq, sender, client_msg_id, body, sent_at, edited_at, "
        + "deleted FROM " + table + " WHERE conversation_id = ? AND bucket = ? AND seq > ? ORDER BY seq ASC LIMIT ?");
    selectNewest = session.prepare("SELECT conversation_id, seq, sender, client_msg_id, body, sent_at, edited_at, "
        + "deleted FROM " + table + " WHERE conversation_id = ? AND bucket = ? LIMIT 1");
  }

  static long bucketOf(long seq) {
    return seq / BUCKET_SIZE;
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    return Cassandra.writeAll(writes, this::execute);
  }

  private CompletionStage<Done> execute(Write w) {
    var bucket = bucketOf(w.seq());
    if (w instanceof Posted p) {
      return insert.thenCompose(ps -> session.executeWrite(ps.bind(p.version(), p.sender(), p.clientMsgId(),
          p.body(), p.sentAt(), p.conversationId(), bucket, p.seq())));
    }
    if (w instanceof Edited e) {
      return edit.thenCompose(ps -> session.executeWrite(ps.bind(e.version(), e.body(), e.at(), e.conversationId(),
          bucket, e.seq())));
    }
    var d = (Deleted) w;
    return delete.thenCompose(ps -> session.executeWrite(ps.bind(d.version(), d.at(), d.conversationId(), bucket,
        d.seq())));
  }

  @Override
  public CompletionStage<List<Message>> page(String conversationId, long beforeSeq, int limit) {
    if (beforeSeq <= 1) return CompletableFuture.completedFuture(List.of());
    return pageFrom(conversationId, bucketOf(beforeSeq - 1), beforeSeq, limit, new ArrayList<>());
  }

  private CompletionStage<List<Message>> pageFrom(
      String conversationId, long bucket, long beforeSeq, int limit, List<Message> found) {
    return select.thenCompose(ps -> session.selectAll(ps.bind(conversationId, bucket, beforeSeq, limit - found.size())))
        .thenCompose(rows -> {
          rows.forEach(row -> found.add(toMessage(row)));
          // Seqs are gap-free, so every bucket below the newest is full: read down until the page is full.
          if (found.size() >= limit || bucket == 0) return CompletableFuture.completedFuture(found);
          return pageFrom(conversationId, bucket - 1, bucket * BUCKET_SIZE, limit, found);
        });
  }

  @Override
  public CompletionStage<List<Message>> after(String conversationId, long afterSeq, int limit) {
    return afterFrom(conversationId, bucketOf(afterSeq + 1), afterSeq, limit, new ArrayList<>());
  }

  private CompletionStage<List<Message>> afterFrom(
      String conversationId, long bucket, long afterSeq, int limit, List<Message> found) {
    return selectAfter.thenCompose(ps -> session.selectAll(ps.bind(conversationId, bucket, afterSeq,
            limit - found.size())))
        .thenCompose(rows -> {
          rows.forEach(row -> found.add(toMessage(row)));
          // Full buckets continue in the next one up; an empty one is past the newest message.
          if (found.size() >= limit || rows.isEmpty()) return CompletableFuture.completedFuture(found);
          return afterFrom(conversationId, bucket + 1, found.get(found.size() - 1).seq(), limit, found);
        });
  }

  @Override
  public CompletionStage<java.util.Optional<Message>> newest(String conversationId, long bucketHint) {
    return selectNewest.thenCompose(ps -> session.selectOne(ps.bind(conversationId, bucketHint))).thenCompose(row -> {
      // The hint can land before the bucket's first message does: the newest message is then in the one before.
      if (row.isEmpty() && bucketHint > 0) return newest(conversationId, bucketHint - 1);
      return CompletableFuture.completedFuture(row.map(CassandraChatHistoryRepository::toMessage));
    });
  }

  private static Message toMessage(Row row) {
    return new Message(row.getString("conversation_id"), row.getLong("seq"), row.getString("sender"),
        row.getString("client_msg_id"), row.getString("body"), row.getInstant("sent_at"),
        row.getInstant("edited_at"), !row.isNull("deleted") && row.getBoolean("deleted"));
  }
}
