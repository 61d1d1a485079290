package io.plaza.dispatch;

import io.plaza.platform.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The index of one H3 cell (sharded by cell address, so the index spreads over the cluster): the available drivers
 * in it with their latest position, and the cell's surge window. Kept in memory only: the drivers re-announce
 * themselves when they move and at least every {@code announce-every} (10 s) while they ping, so a cell that moved to
 * another node is whole again within that. A driver not heard from for {@code staleAfter} is never a candidate.
 */
public final class DispatchCell {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "DispatchCell");

  public sealed interface Command extends CborSerializable {}

  /** The driver is available here, at {@code location}, as of {@code heardAt}. */
  public record Available(String driverId, String vehicleType, GeoPoint location, double acceptanceRate,
      Instant availableSince, Instant heardAt) implements Command {}

  /** The driver left the cell or stopped being available. */
  public record Gone(String driverId) implements Command {}

  /** Fresh available drivers of {@code vehicleType}, except {@code exclude} (drivers the ride already tried). */
  public record FindCandidates(String vehicleType, Set<String> exclude, ActorRef<Candidates> replyTo)
      implements Command {}

  public record Candidates(List<DispatchScorer.Candidate> drivers) implements CborSerializable {}

  /** The cell's surge multiplier now; {@code countRequest}: this quote is for a ride request (demand). */
  public record QuoteSurge(boolean countRequest, ActorRef<Surge> replyTo) implements Command {}

  public record Surge(double multiplier, int requests, int drivers) implements CborSerializable {}

  /** What a map shows of the cell: its fresh available drivers (anonymous) and its surge now. */
  public record Look(ActorRef<View> replyTo) implements Command {}

  public record View(List<Nearby> drivers, Surge surge) implements CborSerializable {}

  /** An available driver as riders may see it: kind of vehicle and position, no identity. */
  public record Nearby(String vehicleType, GeoPoint location) implements CborSerializable {}

  private record Spot(String vehicleType, GeoPoint location, double acceptanceRate, Instant availableSince,
      Instant heardAt) {}

  public static Behavior<Command> create(SurgePricing surge, Duration staleAfter, Clock clock) {
    return Behaviors.setup(ctx -> {
      var drivers = new HashMap<String, Spot>();
      var window = surge.new Window();
      return Behaviors.receive(Command.class)
          .onMessage(Available.class, a -> {
            drivers.put(a.driverId(), new Spot(a.vehicleType(), a.location(), a.acceptanceRate(),
                a.availableSince(), a.heardAt()));
            window.driverAvailable(a.driverId(), a.heardAt());
            return Behaviors.same();
          })
          .onMessage(Gone.class, g -> {
            drivers.remove(g.driverId());
            return Behaviors.same();
          })
          .onMessage(FindCandidates.class, f -> {
            var freshFrom = clock.instant().minus(staleAfter);
            forgetStale(drivers, freshFrom);
            f.replyTo().tell(new Candidates(drivers.entrySet().stream()
                .filter(e -> e.getValue().vehicleType().equals(f.vehicleType()))
                .filter(e -> !f.exclude().contains(e.getKey()))
                .map(e -> new DispatchScorer.Candidate(e.getKey(), e.getValue().location(),
                    e.getValue().acceptanceRate(), e.getValue().availableSince()))
                .toList()));
            return Behaviors.same();
          })
          .onMessage(Look.class, l -> {
            var now = clock.instant();
            forgetStale(drivers, now.minus(staleAfter));
            l.replyTo().tell(new View(drivers.values().stream()
                .map(spot -> new Nearby(spot.vehicleType(), spot.location())).toList(),
                new Surge(window.multiplier(now), window.requests(), window.drivers())));
            return Behaviors.same();
          })
          .onMessage(QuoteSurge.class, q -> {
            var now = clock.instant();
            if (q.countRequest()) window.request(now);
            double multiplier = window.multiplier(now);
            q.replyTo().tell(new Surge(multiplier, window.requests(), window.drivers()));
            return Behaviors.same();
          })
          .build();
    });
  }

  private static void forgetStale(Map<String, Spot> drivers, Instant freshFrom) {
    drivers.values().removeIf(spot -> spot.heardAt().isBefore(freshFrom));
  }

  private DispatchCell() {}
}
