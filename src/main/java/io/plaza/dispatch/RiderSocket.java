package io.plaza.dispatch;

import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import io.plaza.platform.Json;
import io.plaza.platform.Metrics;
import io.plaza.platform.WebSockets;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * `/v1/dispatch/rider/ws`: pushes the status of the rider's rides (`ride` frames) as they change. Riders act over
 * REST; any frame they send is answered with an error frame, and the connection stays open.
 */
public final class RiderSocket {

  static final int OUTGOING_BUFFER = 64;

  private final ActorSystem<?> system;
  private final ActorRef<RiderRelay.Command> relay;

  public RiderSocket(ActorSystem<?> system, ActorRef<RiderRelay.Command> relay) {
    this.system = system;
    this.relay = relay;
  }

  public Route route(String riderId) {
    return handleWebSocketMessages(Metrics.get(system).webSocketConnection("dispatch-rider", flow(riderId)));
  }

  Flow<Message, Message, NotUsed> flow(String riderId) {
    var outgoing = WebSockets.outgoing(system, OUTGOING_BUFFER);
    relay.tell(new RiderRelay.Open(outgoing.first(), riderId));
    Sink<Message, NotUsed> incoming = Flow.<Message>create()
        .mapAsync(1, message -> WebSockets.text(system, message))
        .map(text -> {
          outgoing.first().tell(Json.write(DispatchFrame.error(400,
              "this socket only pushes ride updates; request and cancel rides over REST", null)));
          return text;
        })
        .to(Sink.ignore());
    var frames = outgoing.second()
        .recover(BufferOverflowException.class, () -> Json.write(DispatchFrame.error(429, "more than "
            + OUTGOING_BUFFER + " frames queued: this connection does not read; closing it", null)))
        .map(json -> (Message) TextMessage.create(json));
    return Flow.fromSinkAndSourceCoupled(incoming, frames);
  }
}
