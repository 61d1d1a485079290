package io.plaza.chat;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.plaza.platform.Cassandra;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * `chat_inbox` on Cassandra: a row per (user, conversation) and one summary per conversation (kind, title and where
 * its newest `chat_history` row is). A message writes neither; an inbox read joins the user's rows with each
 * conversation's summary and newest message.
 */
public final class CassandraChatInboxRepository implements ChatInboxRepository {

  private final CassandraSession session;
  private final ChatHistoryRepository history;
  private final CompletionStage<PreparedStatement> created;
  private final CompletionStage<PreparedStatement> joined;
  private final CompletionStage<PreparedStatement> left;
  private final CompletionStage<PreparedStatement> read;
  private final CompletionStage<PreparedStatement> historyReached;
  private final CompletionStage<PreparedStatement> memberships;
  private final CompletionStage<PreparedStatement> summary;
  private final CompletionStage<PreparedStatement> contact;
  private final CompletionStage<PreparedStatement> contacts;
  private final CompletionStage<PreparedStatement> lastSeen;
  private final CompletionStage<PreparedStatement> saveLastSeen;

  public CassandraChatInboxRepository(CassandraSession session, String keyspace, ChatHistoryRepository history) {
    this.session = session;
    this.history = history;
    var users = keyspace + ".chat_user_conversations";
    var summaries = keyspace + ".chat_conversation_summaries";
    created = session.prepare("UPDATE " + summaries + " USING TIMESTAMP ? SET kind = ?, title = ? "
        + "WHERE conversation_id = ?");
    joined = session.prepare("UPDATE " + users + " USING TIMESTAMP ? SET joined_at = ? "
        + "WHERE user_id = ? AND conversation_id = ?");
    left = session.prepare("DELETE FROM " + users + " USING TIMESTAMP ? WHERE user_id = ? AND conversation_id = ?");
    read = session.prepare("UPDATE " + users + " USING TIMESTAMP ? SET read_seq = ? "
        + "WHERE user_id = ? AND conversation_id = ?");
    historyReached = session.prepare("UPDATE " + summaries + " USING TIMESTAMP ? SET history_bucket = ? "
        + "WHERE conversation_id = ?");
    memberships = session.prepare("SELECT conversation_id, read_seq FROM " + users + " WHERE user_id = ? LIMIT 1000");
    // last_* are written by releases before 0.4.0 only: kept when newer than the history (a lagging read model).
    summary = session.prepare("SELECT kind, title, history_bucket, last_seq, last_sender, last_body, last_at FROM "
        + summaries + " WHERE conversation_id = ?");
    contact = session.prepare("UPDATE " + keyspace + ".chat_contacts USING TIMESTAMP ? SET since_version = ? "
        + "WHERE user_id = ? AND contact_id = ?");
    contacts = session.prepare("SELECT contact_id FROM " + keyspace + ".chat_contacts WHERE user_id = ? LIMIT 1000");
    lastSeen = session.prepare("SELECT last_seen FROM " + keyspace + ".chat_last_seen WHERE user_id = ?");
    saveLastSeen = session.prepare("UPDATE " + keyspace + ".chat_last_seen SET last_seen = ? WHERE user_id = ?");
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    return Cassandra.writeAll(writes, this::execute);
  }

  private CompletionStage<Done> execute(Write w) {
    if (w instanceof Created c) {
      return created.thenCompose(ps -> session.executeWrite(ps.bind(c.version(), c.kind(), c.title(),
          c.conversationId())));
    }
    if (w instanceof Joined j) {
      return joined.thenCompose(ps -> session.executeWrite(ps.bind(j.version(), j.at(), j.userId(),
          j.conversationId())));
    }
    if (w instanceof Left l) {
      return left.thenCompose(ps -> session.executeWrite(ps.bind(l.version(), l.userId(), l.conversationId())));
    }
    if (w instanceof Read r) {
      return read.thenCompose(ps -> session.executeWrite(ps.bind(r.version(), r.seq(), r.userId(),
          r.conversationId())));
    }
    if (w instanceof Contact c) {
      return contact.thenCompose(ps -> session.executeWrite(ps.bind(c.version(), c.version(), c.userId(),
          c.contactId())));
    }
    var h = (HistoryReached) w;
    // Timestamped by the bucket, not the event: the pointer only ever moves up.
    return historyReached.thenCompose(ps -> session.executeWrite(ps.bind(h.bucket(), h.bucket(),
        h.conversationId())));
  }

  @Override
  public CompletionStage<List<Entry>> inbox(String userId) {
    return memberships.thenCompose(ps -> session.selectAll(ps.bind(userId))).thenCompose(rows -> {
      var entries = rows.stream().map(row -> {
        var id = row.getString("conversation_id");
        long readSeq = row.isNull("read_seq") ? 0 : row.getLong("read_seq");
        return summary.thenCompose(ps -> session.selectOne(ps.bind(id))).thenCompose(found -> {
          var s = found.orElse(null);
          long bucket = s == null || s.isNull("history_bucket") ? 0 : s.getLong("history_bucket");
          return history.newest(id, bucket).thenApply(newest -> entryOf(id, s, newest.orElse(null), readSeq));
        }).toCompletableFuture();
      }).toList();
      return CompletableFuture.allOf(entries.toArray(CompletableFuture[]::new)).thenApply(v -> entries.stream()
          .map(CompletableFuture::join)
          .sorted(Comparator.comparing((Entry e) -> e.lastAt() == null ? Instant.EPOCH : e.lastAt()).reversed())
          .toList());
    });
  }

  /** The summary's kind and title with the newest message: the history's, or an older release's summary if newer. */
  private static Entry entryOf(String id, Row summary, ChatHistoryRepository.Message newest, long readSeq) {
    var kind = summary == null ? null : summary.getString("kind");
    var title = summary == null ? null : summary.getString("title");
    long summarySeq = summary == null || summary.isNull("last_seq") ? 0 : summary.getLong("last_seq");
    if (newest != null && newest.seq() >= summarySeq) {
      return new Entry(id, kind, title, newest.seq(), newest.sender(), newest.body(), newest.sentAt(), readSeq);
    }
    if (summarySeq > 0) {
      return new Entry(id, kind, title, summarySeq, summary.getString("last_sender"), summary.getString("last_body"),
          summary.getInstant("last_at"), readSeq);
    }
    return new Entry(id, kind, title, 0, null, null, null, readSeq);
  }

  @Override
  public CompletionStage<List<String>> contacts(String userId) {
    return contacts.thenCompose(ps -> session.selectAll(ps.bind(userId)))
        .thenApply(rows -> rows.stream().map(row -> row.getString("contact_id")).toList());
  }

  @Override
  public CompletionStage<Optional<Instant>> lastSeen(String userId) {
    return lastSeen.thenCompose(ps -> session.selectOne(ps.bind(userId)))
        .thenApply(row -> row.map(r -> r.getInstant("last_seen")));
  }

  @Override
  public CompletionStage<Done> saveLastSeen(String userId, Instant at) {
    return saveLastSeen.thenCompose(ps -> session.executeWrite(ps.bind(at, userId)));
  }
}
