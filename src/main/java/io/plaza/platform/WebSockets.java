package io.plaza.platform;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/** What every WebSocket endpoint shares: a bounded outgoing queue fed by actors, and strict text frames. */
public final class WebSockets {

  private static final Duration STRICT_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The connection's outgoing frames: an actor any entity may tell JSON strings to, and the source the socket sends.
   * Past {@code buffer} queued frames the source fails with BufferOverflowException: a client that does not read is
   * disconnected instead of growing the node's memory.
   */
  public static Pair<ActorRef<String>, Source<String, NotUsed>> outgoing(ActorSystem<?> system, int buffer) {
    return ActorSource.<String>actorRef(m -> false, m -> Optional.empty(), buffer, OverflowStrategy.fail())
        .preMaterialize(system);
  }

  /** The text of a frame; a binary frame is drained and read as "" (which no handler accepts). */
  public static CompletionStage<String> text(ActorSystem<?> system, Message message) {
    if (!message.isText()) {
      message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), system);
      return CompletableFuture.completedFuture("");
    }
    return message.asTextMessage().toStrict(STRICT_TIMEOUT.toMillis(), Materializer.matFromSystem(system))
        .thenApply(TextMessage::getStrictText);
  }

  private WebSockets() {}
}
