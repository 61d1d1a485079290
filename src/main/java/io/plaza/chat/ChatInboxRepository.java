package io.plaza.chat;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * The `chat_inbox` read model (projections/chat_inbox.cql): who is in which conversation and who sees whose presence.
 * A conversation's last message is not written here: an inbox read takes its newest `chat_history` row, which every
 * message writes anyway, so a message costs one read-model write, not two.
 */
public interface ChatInboxRepository {

  /** One conversation of a user's inbox. */
  record Entry(String conversationId, String kind, String title, long lastSeq, String lastSender, String lastBody,
      Instant lastAt, long readSeq) {
    public long unread() {
      return Math.max(0, lastSeq - readSeq);
    }
  }

  /** A change from one event; {@code version} is the event's sequence number (the write timestamp). */
  sealed interface Write {
    long version();
  }

  record Created(String conversationId, String kind, String title, long version) implements Write {}

  record Joined(String userId, String conversationId, Instant at, long version) implements Write {}

  record Left(String userId, String conversationId, long version) implements Write {}

  record Read(String userId, String conversationId, long seq, long version) implements Write {}

  /**
   * The conversation's messages reached {@code bucket} of `chat_history` (written by its first message there: message
   * numbers have no gaps), so the inbox knows where the newest message is.
   */
  record HistoryReached(String conversationId, long bucket, long version) implements Write {}

  /** Two users who share a direct conversation see each other's presence. */
  record Contact(String userId, String contactId, long version) implements Write {}

  CompletionStage<Done> apply(List<Write> writes);

  /** The other sides of the user's direct conversations (up to 1,000). */
  CompletionStage<List<String>> contacts(String userId);

  /** When the user's last device disconnected (written by the user's session, not by the projection). */
  CompletionStage<java.util.Optional<Instant>> lastSeen(String userId);

  CompletionStage<Done> saveLastSeen(String userId, Instant at);

  /** The user's conversations, the most recently active first. */
  CompletionStage<List<Entry>> inbox(String userId);
}
