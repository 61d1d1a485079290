package io.plaza.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.junit.jupiter.api.Test;

/** What the inbox handler writes: memberships and read pointers, and per message nothing but a bucket's first. */
class ChatInboxProjectionHandlerTest {

  private static final Instant T = Instant.parse("2026-12-07T10:00:00Z");

  private static List<ChatInboxRepository.Write> writesFor(List<Conversation.Event> events) {
    var written = new ArrayList<ChatInboxRepository.Write>();
    var repository = new ChatInboxRepository() {
      @Override
      public CompletionStage<Done> apply(List<Write> writes) {
        written.addAll(writes);
        return CompletableFuture.completedFuture(Done.getInstance());
      }

      @Override
      public CompletionStage<List<String>> contacts(String userId) {
        throw new UnsupportedOperationException();
      }

      @Override
      public CompletionStage<java.util.Optional<Instant>> lastSeen(String userId) {
        throw new UnsupportedOperationException();
      }

      @Override
      public CompletionStage<Done> saveLastSeen(String userId, Instant at) {
        throw new UnsupportedOperationException();
      }

      @Override
      public CompletionStage<List<Entry>> inbox(String userId) {
        throw new UnsupportedOperationException();
      }
    };
    var envelopes = new ArrayList<EventEnvelope<Conversation.Event>>();
    long eventSeq = 0;
    for (var event : events) {
      eventSeq++;
      envelopes.add(EventEnvelope.create(Offset.sequence(eventSeq), "Conversation|c", eventSeq, event, 0L));
    }
    new ChatInboxProjectionHandler(repository).process(envelopes).toCompletableFuture().join();
    return written;
  }

  private static Conversation.MessagePosted message(long seq) {
    return new Conversation.MessagePosted("c", seq, "alice", "m-" + seq, "hello " + seq, T);
  }

  @Test
  void aMessageWritesNothingHereItsHistoryRowIsTheInboxsLastMessage() {
    var writes = writesFor(List.of(message(1), message(2), message(998)));
    assertEquals(List.of(), writes);
  }

  @Test
  void theFirstMessageOfAHistoryBucketSaysWhereTheNewestMessagesAre() {
    long first = CassandraChatHistoryRepository.BUCKET_SIZE;
    var writes = writesFor(List.of(message(first - 1), message(first), message(first + 1)));
    assertEquals(List.of(new ChatInboxRepository.HistoryReached("c", 1, 2)), writes);
  }

  @Test
  void membershipsAndReadPointersAreStillWritten() {
    var writes = writesFor(List.of(
        new Conversation.ConversationCreated("c", Conversation.Kind.GROUP, "team", "alice",
            new java.util.LinkedHashSet<>(List.of("alice", "bob")), T),
        message(1),
        new Conversation.PointerMoved("c", "bob", 1, true, T)));
    assertEquals(List.of(new ChatInboxRepository.Created("c", "group", "team", 1),
        new ChatInboxRepository.Joined("alice", "c", T, 1), new ChatInboxRepository.Joined("bob", "c", T, 1),
        new ChatInboxRepository.Read("bob", "c", 1, 3)), writes);
  }
}
