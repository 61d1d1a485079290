package io.plaza.dispatch;

/**
 * The fare estimate shown at request time, in cents: base + per km + per minute of the straight-line trip at city
 * speed, times the surge multiplier of the pickup cell, never below the minimum fare.
 */
public record Fares(long baseCents, long perKmCents, long perMinuteCents, long minimumCents) {

  public static Fares fromConfig(com.typesafe.config.Config dispatch) {
    var fares = dispatch.getConfig("fares");
    return new Fares(fares.getLong("base-cents"), fares.getLong("per-km-cents"), fares.getLong("per-minute-cents"),
        fares.getLong("minimum-cents"));
  }

  public long estimateCents(double meters, double minutes, double surge) {
    double fare = (baseCents + perKmCents * meters / 1000 + perMinuteCents * minutes) * surge;
    return Math.max(minimumCents, Math.round(fare));
  }
}
