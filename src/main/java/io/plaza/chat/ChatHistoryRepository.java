package io.plaza.chat;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `chat_history` read model (projections/chat_history.cql). */
public interface ChatHistoryRepository {

  /** One message as the history shows it; a deleted one has no body. */
  record Message(
      String conversationId, long seq, String sender, String clientMsgId, String body, Instant sentAt,
      Instant editedAt, boolean deleted) {}

  /** A change from one event; {@code version} is the event's sequence number (the write timestamp). */
  sealed interface Write {
    String conversationId();

    long seq();

    long version();
  }

  record Posted(String conversationId, long seq, String sender, String clientMsgId, String body, Instant sentAt,
      long version) implements Write {}

  record Edited(String conversationId, long seq, String body, Instant at, long version) implements Write {}

  record Deleted(String conversationId, long seq, Instant at, long version) implements Write {}

  CompletionStage<Done> apply(List<Write> writes);

  /** Up to {@code limit} messages with a seq below {@code beforeSeq}, newest first. */
  CompletionStage<List<Message>> page(String conversationId, long beforeSeq, int limit);

  /** Up to {@code limit} messages with a seq above {@code afterSeq}, oldest first. */
  CompletionStage<List<Message>> after(String conversationId, long afterSeq, int limit);

  /**
   * The conversation's newest message, looked up from {@code bucketHint} (the highest bucket its messages are known
   * to have reached): the inbox's "last message" and unread count come from it.
   */
  CompletionStage<java.util.Optional<Message>> newest(String conversationId, long bucketHint);
}
