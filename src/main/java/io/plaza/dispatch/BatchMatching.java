package io.plaza.dispatch;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;

/**
 * Matching ride requests to available drivers, two ways over the same scores ({@link DispatchScorer}; a pair is
 * allowed when the vehicle types agree and the pickup is within the scorer's {@code maxEta}):
 * <ul>
 *   <li>{@link #batch}: all at once, as a batch window of a cell does: the assignment with the most matches, then the
 *       best total score ({@link Assignment}: exact up to {@code exactUpTo} requests or drivers, greedy beyond);
 *   <li>{@link #oneByOne}: in arrival order, each request the best driver still free: what matching does without a
 *       batch window, and the reference the batch is measured against.
 * </ul>
 */
final class BatchMatching {

  private BatchMatching() {}

  record Request(String rideId, GeoPoint pickup, String vehicleType) {}

  /** An available driver, with its kind of vehicle. */
  record Available(DispatchScorer.Candidate candidate, String vehicleType) {}

  /** The driver a request is offered first, with its score and pickup ETA. */
  record Match(Request request, DispatchScorer.Scored driver) {}

  /**
   * {@code perRequest}: only the drivers among some request's best this many take part (0: all). A driver that is no
   * request's near choice is seldom assigned, and the solver's work grows with the number of drivers.
   */
  static List<Match> batch(List<Request> requests, List<Available> drivers, DispatchScorer scorer, Instant now,
      int exactUpTo, int perRequest) {
    var scored = new DispatchScorer.Scored[requests.size()][drivers.size()];
    for (int i = 0; i < requests.size(); i++) {
      for (int j = 0; j < drivers.size(); j++) scored[i][j] = allowed(requests.get(i), drivers.get(j), scorer, now);
    }
    var columns = perRequest <= 0 ? allColumns(drivers.size()) : nearChoices(scored, drivers.size(), perRequest);
    var score = new double[requests.size()][columns.length];
    for (int i = 0; i < requests.size(); i++) {
      for (int c = 0; c < columns.length; c++) {
        var s = scored[i][columns[c]];
        score[i][c] = s == null ? Double.NaN : s.score();
      }
    }
    var assignment = Assignment.solve(score, exactUpTo);
    var matches = new ArrayList<Match>();
    for (int i = 0; i < assignment.length; i++) {
      if (assignment[i] != Assignment.NONE) {
        matches.add(new Match(requests.get(i), scored[i][columns[assignment[i]]]));
      }
    }
    return matches;
  }

  private static int[] allColumns(int drivers) {
    var all = new int[drivers];
    Arrays.setAll(all, j -> j);
    return all;
  }

  /** The drivers among the best {@code perRequest} of at least one request, in index order. */
  private static int[] nearChoices(DispatchScorer.Scored[][] scored, int drivers, int perRequest) {
    var chosen = new HashSet<Integer>();
    for (var row : scored) {
      var allowed = new ArrayList<Integer>();
      for (int j = 0; j < drivers; j++) {
        if (row[j] != null) allowed.add(j);
      }
      allowed.sort(Comparator.comparingDouble((Integer j) -> row[j].score()).reversed());
      chosen.addAll(allowed.subList(0, Math.min(perRequest, allowed.size())));
    }
    return chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
  }

  static List<Match> oneByOne(List<Request> requests, List<Available> drivers, DispatchScorer scorer, Instant now) {
    var taken = new HashSet<String>();
    var matches = new ArrayList<Match>();
    for (var request : requests) {
      // Ranked as Ride ranks its candidates; the best one that is allowed.
      var candidates = drivers.stream().filter(d -> d.vehicleType().equals(request.vehicleType()))
          .map(Available::candidate).filter(c -> !taken.contains(c.driverId())).toList();
      scorer.rank(candidates, request.pickup(), now).stream()
          .filter(s -> s.eta().compareTo(scorer.maxEta()) <= 0)
          .findFirst()
          .ifPresent(best -> {
            taken.add(best.candidate().driverId());
            matches.add(new Match(request, best));
          });
    }
    return matches;
  }

  /** The pair's score, or null when it is not allowed. */
  private static DispatchScorer.Scored allowed(Request request, Available driver, DispatchScorer scorer,
      Instant now) {
    if (!request.vehicleType().equals(driver.vehicleType())) return null;
    var scored = scorer.score(driver.candidate(), request.pickup(), now);
    return scored.eta().compareTo(scorer.maxEta()) > 0 ? null : scored;
  }
}
