package io.plaza.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/** Keeps `chat_inbox` up to date: memberships and read pointers per user, the last message per conversation. */
public final class ChatInboxProjectionHandler extends Handler<List<EventEnvelope<Conversation.Event>>> {

  private final ChatInboxRepository repository;

  public ChatInboxProjectionHandler(ChatInboxRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<Conversation.Event>> envelopes) {
    var writes = new ArrayList<ChatInboxRepository.Write>();
    // Only the newest message of each conversation in the group is written: the older ones would lose to it anyway
    // (the write timestamp is the sequence number), so a busy conversation costs one summary write per group.
    var lastMessages = new java.util.LinkedHashMap<String, ChatInboxRepository.LastMessage>();
    for (var env : envelopes) {
      long v = env.sequenceNr();
      var event = env.event();
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
      } else if (event instanceof Conversation.MessagePosted e) {
        lastMessages.put(id, new ChatInboxRepository.LastMessage(id, e.seq(), e.sender(), e.body(), e.sentAt(), v));
      } else if (event instanceof Conversation.PointerMoved e && e.read()) {
        writes.add(new ChatInboxRepository.Read(e.user(), id, e.seq(), v));
      }
    }
    writes.addAll(lastMessages.values());
    return repository.apply(writes);
  }
}
