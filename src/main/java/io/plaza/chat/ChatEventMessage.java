package io.plaza.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Set;

/**
 * The public contract of topic `plaza.chat.messages` (projections/chat-messages-kafka.md): every conversation event,
 * keyed by conversation id. Versioned apart from the journal events; fields are only ever added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatEventMessage(
    int schemaVersion,
    String type,
    String conversationId,
    long sequenceNr,
    Instant occurredAt,
    Long seq,
    String sender,
    String clientMsgId,
    String body,
    Set<String> members,
    String user,
    Boolean read) {

  public static final int SCHEMA_VERSION = 1;

  public static ChatEventMessage of(Conversation.Event event, long sequenceNr) {
    var id = event.conversationId();
    // Spelled out, not taken from class names: the contract must not change when code is refactored.
    if (event instanceof Conversation.ConversationCreated e) {
      return new ChatEventMessage(SCHEMA_VERSION, "ConversationCreated", id, sequenceNr, e.at(), null, e.owner(),
          null, null, e.members(), null, null);
    }
    if (event instanceof Conversation.MembersAdded e) {
      return new ChatEventMessage(SCHEMA_VERSION, "MembersAdded", id, sequenceNr, e.at(), null, e.by(), null, null,
          e.users(), null, null);
    }
    if (event instanceof Conversation.MemberRemoved e) {
      return new ChatEventMessage(SCHEMA_VERSION, "MemberRemoved", id, sequenceNr, e.at(), null, e.by(), null, null,
          null, e.user(), null);
    }
    if (event instanceof Conversation.MessagePosted e) {
      return new ChatEventMessage(SCHEMA_VERSION, "MessagePosted", id, sequenceNr, e.sentAt(), e.seq(), e.sender(),
          e.clientMsgId(), e.body(), null, null, null);
    }
    if (event instanceof Conversation.MessageEdited e) {
      return new ChatEventMessage(SCHEMA_VERSION, "MessageEdited", id, sequenceNr, e.at(), e.seq(), e.sender(), null,
          e.body(), null, null, null);
    }
    if (event instanceof Conversation.MessageDeleted e) {
      return new ChatEventMessage(SCHEMA_VERSION, "MessageDeleted", id, sequenceNr, e.at(), e.seq(), e.sender(), null,
          null, null, null, null);
    }
    var e = (Conversation.PointerMoved) event;
    return new ChatEventMessage(SCHEMA_VERSION, "PointerMoved", id, sequenceNr, e.at(), e.seq(), null, null, null,
        null, e.user(), e.read());
  }
}
