package io.plaza.dispatch;

import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import io.micrometer.core.instrument.Counter;
import io.plaza.platform.Json;
import io.plaza.platform.Metrics;
import io.plaza.platform.Rejection;
import io.plaza.platform.WebSockets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
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
 * `/v1/dispatch/driver/ws`: the connection of one driver, who acts only as themselves (the token's user id is the
 * driver id). In: online, offline, ping, accept, decline, arrived, started, completed, cancel. Out: status, offer,
 * offer_ended, ride, error. Pings are not answered when accepted (about one a second); a refused ping gets an error
 * frame with the reason. A bad frame gets an error frame; the connection stays open.
 */
public final class DriverSocket {

  static final int OUTGOING_BUFFER = 64;
  static final int MAX_FRAME_CHARS = 4 * 1024;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final Counter pings;

  public DriverSocket(ActorSystem<?> system, Duration askTimeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.pings = Metrics.get(system).dispatchPings();
  }

  public Route route(String driverId) {
    return handleWebSocketMessages(Metrics.get(system).webSocketConnection("dispatch-driver", flow(driverId)));
  }

  Flow<Message, Message, NotUsed> flow(String driverId) {
    var outgoing = WebSockets.outgoing(system, OUTGOING_BUFFER);
    ActorRef<String> connection = outgoing.first();
    Sink<Message, NotUsed> incoming = Flow.<Message>create()
        .mapAsync(1, message -> WebSockets.text(system, message))
        .mapAsync(4, text -> handle(driverId, connection, text)
            .exceptionally(e -> DispatchFrame.error(503, "temporarily unavailable; retry", null))
            .thenApply(frame -> {
              if (frame != null) connection.tell(Json.write(frame));
              return 1;
            }))
        .to(Sink.ignore());
    var frames = outgoing.second()
        // A client that does not read: its offers would go stale unseen; the last frame says why, then it closes.
        .recover(BufferOverflowException.class, () -> Json.write(DispatchFrame.error(429, "more than "
            + OUTGOING_BUFFER + " frames queued: this connection does not read; closing it", null)))
        .map(json -> (Message) TextMessage.create(json));
    return Flow.fromSinkAndSourceCoupled(incoming, frames);
  }

  /** The answer frame to {@code text}, or null when there is none (an accepted ping). */
  CompletionStage<DispatchFrame> handle(String driverId, ActorRef<String> connection, String text) {
    if (text.length() > MAX_FRAME_CHARS) return done(DispatchFrame.error(413, "frame larger than "
        + MAX_FRAME_CHARS + " characters", null));
    DispatchFrame frame;
    try {
      frame = Json.readObject(text, DispatchFrame.class);
    } catch (Json.MalformedJson e) {
      return done(DispatchFrame.error(400, "not a frame: " + e.getMessage(), null));
    }
    if (frame.type() == null) return done(DispatchFrame.error(400, "type is required", null));
    return switch (frame.type()) {
      case "ping" -> ping(driverId, connection, frame);
      case "online" -> {
        if (frame.vehicleType() == null || !Driver.VEHICLE_TYPES.contains(frame.vehicleType())) {
          yield done(DispatchFrame.error(400, "vehicleType must be one of "
              + new java.util.TreeSet<>(Driver.VEHICLE_TYPES), null));
        }
        yield ask(driverId, r -> new Driver.GoOnline(frame.vehicleType(), connection, r), null,
            reply -> DispatchFrame.status("available", frame.vehicleType(), null));
      }
      case "offline" -> ask(driverId, Driver.GoOffline::new, null,
          reply -> DispatchFrame.status("offline", null, null));
      case "accept", "decline" -> withRide(frame, rideId -> ask(driverId,
          r -> new Driver.Respond(rideId, frame.type().equals("accept"), r), rideId,
          reply -> frame.type().equals("accept") ? DispatchFrame.status("assigned", null, rideId)
              : DispatchFrame.status("available", null, null)));
      case "arrived", "started", "completed", "cancel" -> withRide(frame, rideId -> {
        var stage = switch (frame.type()) {
          case "arrived" -> Driver.Stage.ARRIVED;
          case "started" -> Driver.Stage.STARTED;
          case "completed" -> Driver.Stage.COMPLETED;
          default -> Driver.Stage.CANCELLED;
        };
        return ask(driverId, r -> new Driver.Progress(rideId, stage, r), rideId,
            reply -> DispatchFrame.ride(rideId, stage == Driver.Stage.CANCELLED ? "cancelled"
                : stage.name().toLowerCase(), driverId, null, null));
      });
      default -> done(DispatchFrame.error(400, "unknown frame type '" + abbreviate(frame.type()) + "'", null));
    };
  }

  private CompletionStage<DispatchFrame> ping(String driverId, ActorRef<String> connection, DispatchFrame frame) {
    if (frame.lat() == null || frame.lng() == null || frame.heading() == null || frame.speed() == null
        || frame.at() == null) {
      return done(DispatchFrame.error(400, "a ping needs lat, lng, heading, speed and at", null));
    }
    var ping = new Ping(new GeoPoint(frame.lat(), frame.lng()), frame.heading(), frame.speed(), frame.at());
    // Not answered when accepted: at 1 Hz per driver an ack would double the traffic. Refusals come back as errors.
    sharding.entityRefFor(Driver.ENTITY_KEY, driverId).tell(new Driver.Report(ping, connection));
    pings.increment();
    return done(null);
  }

  private static CompletionStage<DispatchFrame> withRide(DispatchFrame frame,
      Function<String, CompletionStage<DispatchFrame>> inner) {
    if (frame.rideId() == null || !DispatchRoutes.RIDE_ID.matcher(frame.rideId()).matches()) {
      return done(DispatchFrame.error(400, "rideId is required (a ride id)", null));
    }
    return inner.apply(frame.rideId());
  }

  private CompletionStage<DispatchFrame> ask(String driverId,
      Function<ActorRef<Driver.Reply>, Driver.Command> command, String rideId,
      Function<Driver.Reply, DispatchFrame> onSuccess) {
    return sharding.entityRefFor(Driver.ENTITY_KEY, driverId).<Driver.Reply>ask(command::apply, askTimeout)
        .exceptionally(e -> new Driver.Rejected(new Rejection(Rejection.Kind.UNAVAILABLE,
            "the driver entity did not answer in time; retry")))
        .thenApply(reply -> reply instanceof Driver.Rejected r
            ? DispatchFrame.error(r.rejection(), rideId)
            : onSuccess.apply(reply));
  }

  private static CompletionStage<DispatchFrame> done(DispatchFrame frame) {
    return CompletableFuture.completedFuture(frame);
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
