package io.plaza.dispatch;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Surge per cell: ride requests and distinct available drivers over a sliding window (1 minute). Demand at or below
 * supply prices at 1.0; above it the multiplier grows by {@code sensitivity} per unit of excess demand ratio, in
 * steps of 0.1, up to {@code cap}. No drivers at all with demand: the cap.
 */
public record SurgePricing(Duration window, double sensitivity, double cap) {

  public static SurgePricing fromConfig(com.typesafe.config.Config dispatch) {
    return new SurgePricing(dispatch.getDuration("surge-window"), dispatch.getDouble("surge-sensitivity"),
        dispatch.getDouble("surge-cap"));
  }

  public double multiplier(int requests, int drivers) {
    if (requests == 0) return 1.0;
    if (drivers == 0) return cap;
    double ratio = (double) requests / drivers;
    if (ratio <= 1) return 1.0;
    double raw = 1 + (ratio - 1) * sensitivity;
    return Math.min(cap, Math.round(raw * 10) / 10.0);
  }

  /** One cell's window: request times and when each driver was last seen available. Not thread-safe (an actor's). */
  public final class Window {
    private final ArrayDeque<Instant> requests = new ArrayDeque<>();
    private final Map<String, Instant> driversSeen = new HashMap<>();

    public void request(Instant at) {
      requests.addLast(at);
    }

    public void driverAvailable(String driverId, Instant at) {
      driversSeen.put(driverId, at);
    }

    public double multiplier(Instant now) {
      var from = now.minus(window);
      while (!requests.isEmpty() && requests.peekFirst().isBefore(from)) requests.removeFirst();
      driversSeen.values().removeIf(seen -> seen.isBefore(from));
      return SurgePricing.this.multiplier(requests.size(), driversSeen.size());
    }

    public int requests() {
      return requests.size();
    }

    public int drivers() {
      return driversSeen.size();
    }
  }
}
