package io.plaza.chat;

import io.plaza.platform.OrderedDelivery;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/** Keeps `chat_history` up to date: one write per message, edit or deletion, timestamped by sequence number. */
public final class ChatHistoryProjectionHandler extends Handler<List<EventEnvelope<Conversation.Event>>> {

  private final ChatHistoryRepository repository;

  public ChatHistoryProjectionHandler(ChatHistoryRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<Conversation.Event>> envelopes) {
    return repository.apply(writesFor(OrderedDelivery.Sequenced.of(envelopes)));
  }

  /** The rows of the events (also delivered by the entity itself, {@link io.plaza.platform.DirectDelivery}). */
  static List<ChatHistoryRepository.Write> writesFor(List<OrderedDelivery.Sequenced<Conversation.Event>> events) {
    var writes = new ArrayList<ChatHistoryRepository.Write>();
    for (var sequenced : events) {
      long version = sequenced.sequenceNr();
      var event = sequenced.event();
      if (event instanceof Conversation.MessagePosted p) {
        writes.add(new ChatHistoryRepository.Posted(p.conversationId(), p.seq(), p.sender(), p.clientMsgId(),
            p.body(), p.sentAt(), version));
      } else if (event instanceof Conversation.MessageEdited e) {
        writes.add(new ChatHistoryRepository.Edited(e.conversationId(), e.seq(), e.body(), e.at(), version));
      } else if (event instanceof Conversation.MessageDeleted d) {
        writes.add(new ChatHistoryRepository.Deleted(d.conversationId(), d.seq(), d.at(), version));
      }
    }
    return writes;
  }
}
