package io.plaza.dispatch;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Json;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Live ride status for riders. Every ride publishes its status changes to one cluster-wide topic; each node's relay
 * hands them to its own open rider connections of that rider. A rider that was not connected reads the ride (or its
 * history) when it comes back.
 */
public final class RiderRelay {

  public static final String TOPIC = "dispatch-rides";

  public sealed interface Command extends CborSerializable {}

  public record Open(ActorRef<String> connection, String riderId) implements Command {}

  private record Closed(ActorRef<String> connection, String riderId) implements Command {}

  private record Published(Ride.Update update) implements Command {}

  private RiderRelay() {}

  public static Behavior<Command> create(ActorRef<Topic.Command<Ride.Update>> topic) {
    return Behaviors.setup(ctx -> {
      topic.tell(Topic.subscribe(ctx.messageAdapter(Ride.Update.class, Published::new)));
      Map<String, Set<ActorRef<String>>> byRider = new HashMap<>();
      return Behaviors.receive(Command.class)
          .onMessage(Open.class, open -> {
            byRider.computeIfAbsent(open.riderId(), r -> new HashSet<>()).add(open.connection());
            ctx.watchWith(open.connection(), new Closed(open.connection(), open.riderId()));
            return Behaviors.same();
          })
          .onMessage(Closed.class, closed -> {
            var set = byRider.get(closed.riderId());
            if (set != null && set.remove(closed.connection()) && set.isEmpty()) byRider.remove(closed.riderId());
            return Behaviors.same();
          })
          .onMessage(Published.class, p -> {
            var u = p.update();
            var connections = byRider.get(u.riderId());
            if (connections != null) {
              var frame = Json.write(DispatchFrame.ride(u.rideId(), u.status().wire(), u.driverId(), null, u.at()));
              connections.forEach(c -> c.tell(frame));
            }
            return Behaviors.same();
          })
          .build();
    });
  }
}
