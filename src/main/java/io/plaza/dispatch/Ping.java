package io.plaza.dispatch;

import java.time.Duration;
import java.time.Instant;

/**
 * One location report of a driver (about once a second). Kept in memory by the driver entity, never persisted one by
 * one. {@code heading} in degrees clockwise from north, {@code speed} in m/s, {@code at} the device's time.
 */
public record Ping(GeoPoint location, double heading, double speed, Instant at) {

  /** No road vehicle reports more, nor moves faster between two pings (360 km/h): faster is a bad GPS fix. */
  static final double MAX_SPEED_METERS_PER_SECOND = 100;
  /** Device clocks run a little ahead; more than this is a wrong clock, not a location. */
  static final Duration MAX_CLOCK_AHEAD = Duration.ofSeconds(10);
  /** A ping this old is history, not where the driver is. */
  static final Duration MAX_AGE = Duration.ofMinutes(1);

  /**
   * Why {@code ping} is impossible after {@code previous} (null for the first ping) at server time {@code now}, or
   * null when it is plausible.
   */
  public static String rejection(Ping previous, Ping ping, Instant now) {
    var invalid = GeoPoint.invalid(ping.location.lat(), ping.location.lng());
    if (invalid != null) return invalid;
    if (Double.isNaN(ping.heading) || ping.heading < 0 || ping.heading >= 360) {
      return "heading must be in [0, 360) degrees";
    }
    if (Double.isNaN(ping.speed) || ping.speed < 0 || ping.speed > MAX_SPEED_METERS_PER_SECOND) {
      return "speed must be between 0 and " + (int) MAX_SPEED_METERS_PER_SECOND + " m/s";
    }
    if (ping.at.isAfter(now.plus(MAX_CLOCK_AHEAD))) return "at is in the future: check the device clock";
    if (ping.at.isBefore(now.minus(MAX_AGE))) return "at is more than a minute old";
    if (previous == null) return null;
    if (!ping.at.isAfter(previous.at)) return "at must be later than the previous ping's (" + previous.at + ")";
    double seconds = Duration.between(previous.at, ping.at).toNanos() / 1e9;
    double meters = previous.location.metersTo(ping.location);
    if (meters / seconds > MAX_SPEED_METERS_PER_SECOND) {
      return String.format("moved %.0f m in %.1f s since the previous ping: impossible speed", meters, seconds);
    }
    return null;
  }
}
