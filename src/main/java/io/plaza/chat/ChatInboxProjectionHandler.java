package io.plaza.chat;

import io.plaza.platform.OrderedDelivery;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `chat_inbox` up to date: memberships and read pointers per user, and where each conversation's newest
 * message is in `chat_history` (one write per 1,000 messages; the message itself is that read model's row).
 */
public final class ChatInboxProjectionHandler extends Handler<List<EventEnvelope<Conversation.Event>>> {

  private final ChatInboxRepository repository;

  public ChatInboxProjectionHandler(ChatInboxRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<Conversation.Event>> envelopes) {
    return repository.apply(writesFor(OrderedDelivery.Sequenced.of(envelopes)));
  }

  /** The rows of the events (also delivered by the entity itself, {@link io.plaza.platform.DirectDelivery}). */
  static List<ChatInboxRepository.Write> writesFor(List<OrderedDelivery.Sequenced<Conversation.Event>> events) {
    var writes = new ArrayList<ChatInboxRepository.Write>();
    for (var sequenced : events) {
      long v = sequenced.sequenceNr();
      var event = sequenced.event();
      var id = event.conversationId();
      if (event instanceof Conversation.ConversationCreated e) {
        writes.add(new ChatInboxRepository.Created(id, e.kind().name().toLowerCase(Locale.ROOT), e.title(), v));
        e.members().forEach(user -> writes.add(new ChatInboxRepository.Joined(user, id, e.at(), v)));
        if (e.kind() == Conversation.Kind.DIRECT) {
          for (var user : e.members()) {
            for (var other : e.members()) {
              if (!user.equals(other)) writes.add(new ChatInboxRepository.Contact(user, other, v));
            }
          }
        }
      } else if (event instanceof Conversation.MembersAdded e) {
        e.users().forEach(user -> writes.add(new ChatInboxRepository.Joined(user, id, e.at(), v)));
      } else if (event instanceof Conversation.MemberRemoved e) {
        writes.add(new ChatInboxRepository.Left(e.user(), id, v));
      } else if (event instanceof Conversation.MessagePosted e
          && e.seq() % CassandraChatHistoryRepository.BUCKET_SIZE == 0) {
        writes.add(new ChatInboxRepository.HistoryReached(id, CassandraChatHistoryRepository.bucketOf(e.seq()), v));
      } else if (event instanceof Conversation.PointerMoved e && e.read()) {
        writes.add(new ChatInboxRepository.Read(e.user(), id, e.seq(), v));
      }
    }
    return writes;
  }
}
