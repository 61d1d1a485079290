package io.plaza.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A WebSocket frame of `/v1/chat/ws`, both ways, as JSON (documented in openapi.yaml). In: send, delivered, read,
 * edit, delete, typing, sync. Out: ack, message, edit, delete, delivered, read, typing, presence, synced, resync, error.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatFrame(
    String type,
    String convId,
    Long seq,
    String sender,
    String clientMsgId,
    String body,
    Instant at,
    String user,
    Long afterSeq,
    String code,
    String detail,
    Boolean online) {

  /**
   * An error, the same shape on every socket: {@code code} is the problem code a REST answer would carry (by the
   * status it would have when the refusal names none), {@code detail} says why; the socket stays open.
   */
  static ChatFrame error(int status, String detail, String convId, String clientMsgId) {
    return error(io.plaza.platform.ProblemCode.Common.forStatus(status).code(), detail, convId, clientMsgId);
  }

  static ChatFrame error(String code, String detail, String convId, String clientMsgId) {
    return new ChatFrame("error", convId, null, null, clientMsgId, null, null, null, null, code,
        io.plaza.platform.StorableValues.printable(detail), null);
  }

  static ChatFrame ack(String convId, String clientMsgId, long seq, Instant at) {
    return new ChatFrame("ack", convId, seq, null, clientMsgId, null, at, null, null, null, null, null);
  }

  /** Ends a sync answer: the messages after {@code afterSeq} came before it; {@code seq} is the conversation's last. */
  static ChatFrame synced(String convId, long afterSeq, long lastSeq) {
    return new ChatFrame("synced", convId, lastSeq, null, null, null, null, null, afterSeq, null, null, null);
  }

  /** Tells a connection that pushes may have been lost (its session restarted elsewhere): sync to catch up. */
  static ChatFrame resync() {
    return new ChatFrame("resync", null, null, null, null, null, null, null, null, null,
        "the server may have missed pushing messages to this connection; sync your conversations", null);
  }

  /** A contact's presence: online, or offline since {@code lastSeen} (null: never seen). */
  static ChatFrame presence(String user, boolean online, Instant lastSeen) {
    return new ChatFrame("presence", null, null, null, null, null, lastSeen, user, null, null, null, online);
  }

  /** What members are pushed for a persisted event, or null for events that are not pushed. */
  static ChatFrame of(Conversation.Event event) {
    var id = event.conversationId();
    if (event instanceof Conversation.MessagePosted e) {
      return new ChatFrame("message", id, e.seq(), e.sender(), e.clientMsgId(), e.body(), e.sentAt(), null, null,
          null, null, null);
    }
    if (event instanceof Conversation.MessageEdited e) {
      return new ChatFrame("edit", id, e.seq(), e.sender(), null, e.body(), e.at(), null, null, null, null, null);
    }
    if (event instanceof Conversation.MessageDeleted e) {
      return new ChatFrame("delete", id, e.seq(), e.sender(), null, null, e.at(), null, null, null, null, null);
    }
    if (event instanceof Conversation.PointerMoved e) {
      return new ChatFrame(e.read() ? "read" : "delivered", id, e.seq(), null, null, null, e.at(), e.user(), null,
          null, null, null);
    }
    return null;
  }

  static ChatFrame of(ChatHistoryRepository.Message m) {
    return new ChatFrame(m.deleted() ? "delete" : "message", m.conversationId(), m.seq(), m.sender(),
        m.clientMsgId(), m.body(), m.sentAt(), null, null, null, null, null);
  }
}
