package io.plaza.dispatch;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * Ranks candidate drivers for a pickup: ETA 50 % (straight-line distance at an average city speed), acceptance rate
 * 20 %, fairness 30 % (how long the driver has waited since their last trip). Each part is scaled to 0..1; higher
 * is better.
 */
public record DispatchScorer(double citySpeedMetersPerSecond, Duration maxEta, Duration maxIdle) {

  static final double ETA_WEIGHT = 0.5;
  static final double ACCEPTANCE_WEIGHT = 0.2;
  static final double FAIRNESS_WEIGHT = 0.3;

  public static DispatchScorer fromConfig(com.typesafe.config.Config dispatch) {
    return new DispatchScorer(dispatch.getDouble("city-speed-kmh") / 3.6, dispatch.getDuration("score-max-eta"),
        dispatch.getDuration("score-max-idle"));
  }

  /** A driver the cell index offers for a pickup. */
  public record Candidate(String driverId, GeoPoint location, double acceptanceRate, Instant availableSince) {}

  public record Scored(Candidate candidate, double score, Duration eta) {}

  public Duration eta(GeoPoint from, GeoPoint to) {
    return Duration.ofMillis((long) (from.metersTo(to) / citySpeedMetersPerSecond * 1000));
  }

  public Scored score(Candidate candidate, GeoPoint pickup, Instant now) {
    var eta = eta(candidate.location(), pickup);
    double etaScore = 1 - Math.min(1, (double) eta.toMillis() / maxEta.toMillis());
    double acceptance = Math.max(0, Math.min(1, candidate.acceptanceRate()));
    var idle = Duration.between(candidate.availableSince(), now);
    double fairness = idle.isNegative() ? 0 : Math.min(1, (double) idle.toMillis() / maxIdle.toMillis());
    return new Scored(candidate, ETA_WEIGHT * etaScore + ACCEPTANCE_WEIGHT * acceptance + FAIRNESS_WEIGHT * fairness,
        eta);
  }

  /** Best first; equal scores by driver id, so the order never depends on how the cells answered. */
  public List<Scored> rank(List<Candidate> candidates, GeoPoint pickup, Instant now) {
    return candidates.stream().map(c -> score(c, pickup, now))
        .sorted(Comparator.comparingDouble(Scored::score).reversed()
            .thenComparing(s -> s.candidate().driverId()))
        .toList();
  }
}
