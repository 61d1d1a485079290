package io.plaza.chat;

import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import io.plaza.platform.Json;
import io.plaza.platform.Metrics;
import io.plaza.platform.Rejection;
import io.plaza.platform.WebSockets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * `/v1/chat/ws`: one WebSocket per device. Outgoing frames (acks, pushes from conversations, sync results, errors) go
 * through a bounded buffer: a client that stops reading is disconnected instead of growing the node's memory. A bad
 * frame gets an error frame; the connection stays open.
 */
public final class ChatSocket {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ChatSocket.class);
  static final int OUTGOING_BUFFER = 256;
  /** Messages per sync answer: a page leaves room in the outgoing buffer for live pushes meanwhile. */
  static final int SYNC_PAGE = 100;
  static final int MAX_FRAME_CHARS = 16 * 1024;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final ChatHistoryRepository history;
  private final Duration askTimeout;
  private final Duration heartbeatInterval;
  private final int maxSendsInFlight;
  private final java.util.concurrent.atomic.AtomicInteger sendsInFlight =
      new java.util.concurrent.atomic.AtomicInteger();

  public ChatSocket(ActorSystem<?> system, ChatHistoryRepository history, Duration askTimeout,
      Duration heartbeatInterval, int maxSendsInFlight) {
    this.heartbeatInterval = heartbeatInterval;
    this.maxSendsInFlight = maxSendsInFlight;
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.history = history;
    this.askTimeout = askTimeout;
  }

  public Route route(String user) {
    return handleWebSocketMessages(Metrics.get(system).webSocketConnection("chat", flow(user)));
  }

  Flow<Message, Message, NotUsed> flow(String user) {
    var outgoing = WebSockets.outgoing(system, OUTGOING_BUFFER);
    ActorRef<String> connection = outgoing.first();
    var session = sharding.entityRefFor(ChatSession.ENTITY_KEY, user);
    session.tell(new ChatSession.Attach(connection, false));
    // The heartbeat: the session forgets connections it stops hearing of, and learns them again after it moved.
    var heartbeat = system.scheduler().scheduleWithFixedDelay(heartbeatInterval, heartbeatInterval,
        () -> session.tell(new ChatSession.Attach(connection, true)), system.executionContext());
    Sink<Message, NotUsed> incoming = Flow.<Message>create()
        .mapAsync(1, message -> WebSockets.text(system, message))
        .mapAsync(4, text -> handle(user, text)
            // A failure behind one frame (Cassandra, a timeout) answers that frame; the connection stays open.
            .exceptionally(e -> List.of(ChatFrame.error(503, "temporarily unavailable; retry", null, null))))
        // Answers leave in the order the frames came in: several sends persisted in one write (group commit) are
        // answered at the same moment, and their acks must not overtake each other.
        .to(Sink.foreach(frames -> frames.forEach(frame -> connection.tell(Json.write(frame)))));
    var frames = outgoing.second()
        .watchTermination((mat, done) -> done.whenComplete((d, e) -> heartbeat.cancel()))
        // A client that does not read: its last frame says why, then the connection closes (the frames it had not
        // read are dropped here; it syncs after reconnecting). Its session forgets it at once (death watch).
        .recover(BufferOverflowException.class, () -> {
          LOG.info("closing a chat connection of {}: {} frames queued, the client does not read", user,
              OUTGOING_BUFFER);
          return Json.write(ChatFrame.error(429, "more than " + OUTGOING_BUFFER
              + " frames queued: this connection does not read; closing it (sync after reconnecting)", null, null));
        })
        .map(json -> (Message) TextMessage.create(json));
    return Flow.fromSinkAndSourceCoupled(incoming, frames);
  }

  CompletionStage<List<ChatFrame>> handle(String user, String text) {
    if (text.length() > MAX_FRAME_CHARS) {
      return done(ChatFrame.error(413, "frame larger than " + MAX_FRAME_CHARS + " characters", null, null));
    }
    ChatFrame frame;
    try {
      frame = Json.readObject(text, ChatFrame.class);
    } catch (Json.MalformedJson e) {
      return done(ChatFrame.error(400, "not a frame: " + e.getMessage(), null, null));
    }
    if (frame.type() == null) return done(ChatFrame.error(400, "type is required", null, null));
    if (frame.convId() == null || !ChatRoutes.CONVERSATION_ID.matcher(frame.convId()).matches()) {
      return done(ChatFrame.error(400, "convId must be a conversation id", frame.convId(), frame.clientMsgId()));
    }
    return switch (frame.type()) {
      case "send" -> send(user, frame);
      case "delivered", "read" -> {
        if (frame.seq() == null || frame.seq() < 0) {
          yield done(ChatFrame.error(400, "seq is required", frame.convId(), null));
        }
        yield ask(frame.convId(), r -> new Conversation.Ack(user, frame.seq(), frame.type().equals("read"), r))
            .thenApply(reply -> reply instanceof Conversation.Rejected rejected
                ? List.of(error(rejected.rejection(), frame)) : List.<ChatFrame>of());
      }
      case "sync" -> sync(user, frame);
      case "typing" -> typing(user, frame);
      case "edit", "delete" -> {
        if (frame.seq() == null) yield done(ChatFrame.error(400, "seq is required", frame.convId(), null));
        if (frame.type().equals("edit") && frame.body() == null) {
          yield done(ChatFrame.error(400, "body is required", frame.convId(), null));
        }
        // The change itself reaches every member (the author's devices too) as a pushed edit or delete frame.
        yield ask(frame.convId(), r -> frame.type().equals("edit")
                ? new Conversation.Edit(user, frame.seq(), frame.body(), r)
                : new Conversation.Delete(user, frame.seq(), r))
            .thenApply(reply -> reply instanceof Conversation.Rejected rejected
                ? List.of(error(rejected.rejection(), frame)) : List.<ChatFrame>of());
      }
      default -> done(ChatFrame.error(400, "unknown frame type '" + frame.type() + "'", frame.convId(),
          frame.clientMsgId()));
    };
  }

  private CompletionStage<List<ChatFrame>> send(String user, ChatFrame frame) {
    if (frame.clientMsgId() == null || !ChatRoutes.CLIENT_MSG_ID.matcher(frame.clientMsgId()).matches()) {
      return done(ChatFrame.error(400, "clientMsgId is required (1-64 printable characters)", frame.convId(), null));
    }
    // Load shedding: past this many sends waiting for their persist on this node, refuse at once (the client
    // retries with the same clientMsgId) instead of queueing until memory runs out.
    if (sendsInFlight.incrementAndGet() > maxSendsInFlight) {
      sendsInFlight.decrementAndGet();
      return done(ChatFrame.error(503, "node overloaded: message not accepted; retry with the same clientMsgId",
          frame.convId(), frame.clientMsgId()));
    }
    // The ack goes out only after the message is persisted (the entity replies after persist).
    return ask(frame.convId(), r -> new Conversation.Post(user, frame.clientMsgId(), frame.body(), r))
        .whenComplete((reply, e) -> sendsInFlight.decrementAndGet())
        .thenApply(reply -> {
          if (reply instanceof Conversation.Posted p) {
            return List.of(ChatFrame.ack(frame.convId(), frame.clientMsgId(), p.seq(), p.sentAt()));
          }
          return List.of(error(((Conversation.Rejected) reply).rejection(), frame));
        });
  }

  /** Relayed to the other members' connections, never persisted. */
  private CompletionStage<List<ChatFrame>> typing(String user, ChatFrame frame) {
    return ask(frame.convId(), r -> new Conversation.GetInfo(user, r)).thenApply(reply -> {
      if (reply instanceof Conversation.Rejected rejected) return List.of(error(rejected.rejection(), frame));
      var json = Json.write(new ChatFrame("typing", frame.convId(), null, null, null, null, null, user, null, null,
          null, null));
      for (var member : ((Conversation.Info) reply).members()) {
        if (!member.equals(user)) {
          sharding.entityRefFor(ChatSession.ENTITY_KEY, member).tell(new ChatSession.Push(json));
        }
      }
      return List.<ChatFrame>of();
    });
  }

  /**
   * Store-and-forward: everything after {@code afterSeq}, oldest first, exactly the seqs the conversation has. The
   * history trails the entity by about a second, so it waits until the read model has every seq up to the last one.
   */
  private CompletionStage<List<ChatFrame>> sync(String user, ChatFrame frame) {
    long after = frame.afterSeq() == null ? 0 : Math.max(0, frame.afterSeq());
    return ask(frame.convId(), r -> new Conversation.GetInfo(user, r)).thenCompose(reply -> {
      if (reply instanceof Conversation.Rejected rejected) {
        return done(error(rejected.rejection(), frame));
      }
      long last = ((Conversation.Info) reply).lastSeq();
      // One page at a time, well inside the outgoing buffer: a device that missed thousands of messages must not
      // be disconnected as a slow reader by its own sync. The closing `synced` frame says how far the conversation
      // goes, so the client asks again from its new last seq until it has caught up.
      long upTo = Math.min(last, after + SYNC_PAGE);
      return complete(frame.convId(), after, upTo, System.nanoTime() + Duration.ofSeconds(10).toNanos())
          .thenApply(messages -> {
            var frames = new java.util.ArrayList<>(messages);
            frames.add(ChatFrame.synced(frame.convId(), after, last));
            return frames;
          });
    });
  }

  private CompletionStage<List<ChatFrame>> complete(String convId, long after, long last, long deadline) {
    if (last <= after) return done(List.of());
    return history.after(convId, after, (int) (last - after)).thenCompose(messages -> {
      long wanted = last - after;
      if (messages.size() >= wanted || System.nanoTime() > deadline) {
        return done(messages.stream().map(ChatFrame::of).toList());
      }
      var retry = new CompletableFuture<List<ChatFrame>>();
      system.scheduler().scheduleOnce(Duration.ofMillis(100),
          () -> complete(convId, after, last, deadline).whenComplete((r, e) -> {
            if (e != null) retry.completeExceptionally(e);
            else retry.complete(r);
          }), system.executionContext());
      return retry;
    });
  }

  private CompletionStage<Conversation.Reply> ask(String convId,
      java.util.function.Function<ActorRef<Conversation.Reply>, Conversation.Command> command) {
    return sharding.entityRefFor(Conversation.ENTITY_KEY, convId).<Conversation.Reply>ask(command::apply, askTimeout)
        .exceptionally(e -> new Conversation.Rejected(new Rejection(Rejection.Kind.UNAVAILABLE,
            "the conversation did not answer in time; retry")));
  }

  private static ChatFrame error(Rejection rejection, ChatFrame frame) {
    return ChatFrame.error(rejection.code(), rejection.detail(), frame.convId(), frame.clientMsgId());
  }

  private static CompletionStage<List<ChatFrame>> done(ChatFrame frame) {
    return CompletableFuture.completedFuture(List.of(frame));
  }

  private static CompletionStage<List<ChatFrame>> done(List<ChatFrame> frames) {
    return CompletableFuture.completedFuture(frames);
  }
}
