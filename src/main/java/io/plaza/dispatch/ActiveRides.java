package io.plaza.dispatch;

import io.plaza.platform.Metrics;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The rides in flight on this node by status, as {@code plaza_dispatch_rides_active{status}} (status
 * {@code offered} = open offers): each live {@link Ride} entity reports its latest status and is forgotten when it
 * ends or stops. Prometheus sums the nodes.
 */
public final class ActiveRides {

  /** For entity tests: tracks nothing. */
  static final ActiveRides NONE = new ActiveRides();

  private final ConcurrentHashMap<String, Ride.Status> rides = new ConcurrentHashMap<>();

  private ActiveRides() {}

  public static ActiveRides registeredIn(Metrics metrics) {
    var active = new ActiveRides();
    Arrays.stream(Ride.Status.values()).filter(s -> !s.ended()).forEach(status ->
        metrics.gauge("plaza.dispatch.rides.active", "rides in flight on this node by status", active,
            a -> a.count(status), "status", status.wire()));
    return active;
  }

  void track(String rideId, Ride.Status status) {
    if (status == null || status.ended()) {
      rides.remove(rideId);
    } else {
      rides.put(rideId, status);
    }
  }

  void forget(String rideId) {
    rides.remove(rideId);
  }

  public long count(Ride.Status status) {
    return rides.values().stream().filter(status::equals).count();
  }
}
