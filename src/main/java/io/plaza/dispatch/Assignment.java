package io.plaza.dispatch;

import java.util.Arrays;

/**
 * Matches a batch of ride requests (rows) to drivers (columns) on a score matrix, higher is better; a NaN score
 * forbids the pair (another vehicle type, a driver too far). The objective, in order: as many requests matched as
 * possible, then the largest total score — so a batch never leaves a rider unmatched to raise the others' scores.
 *
 * <p>{@link #optimal} solves it exactly with the Hungarian algorithm (shortest augmenting paths with potentials,
 * O(n²·m) for n ≤ m), forbidden pairs costing more than any set of allowed ones can; {@link #greedy} takes the best
 * remaining pair each time (O(k log k) over the k allowed pairs); {@link #solve} uses the first up to a size bound and
 * the second beyond it. Written here rather than taken from a library: the general ones (JGraphT's Kuhn–Munkres)
 * need a graph object with an edge object per pair for every batch, where this runs on the score array itself.
 */
final class Assignment {

  /** In a result: the request got no driver. */
  static final int NONE = -1;

  private Assignment() {}

  /** Exact up to {@code exactUpTo} requests or drivers (whichever is larger), greedy beyond. */
  static int[] solve(double[][] score, int exactUpTo) {
    int rows = score.length;
    int cols = rows == 0 ? 0 : score[0].length;
    return Math.max(rows, cols) <= exactUpTo ? optimal(score) : greedy(score);
  }

  /** For each request, the index of its driver or {@link #NONE}; see the class comment for the objective. */
  static int[] optimal(double[][] score) {
    int rows = score.length;
    if (rows == 0) return new int[0];
    int cols = score[0].length;
    var result = new int[rows];
    Arrays.fill(result, NONE);
    if (cols == 0) return result;
    // The algorithm below assigns every row of a matrix with no more rows than columns: transpose if needed.
    boolean transposed = rows > cols;
    int n = transposed ? cols : rows;
    int m = transposed ? rows : cols;
    double forbidden = forbiddenCost(score, n);
    var cost = new double[n + 1][m + 1]; // 1-based, as the algorithm is usually written
    for (int i = 1; i <= n; i++) {
      for (int j = 1; j <= m; j++) {
        double s = transposed ? score[j - 1][i - 1] : score[i - 1][j - 1];
        cost[i][j] = Double.isNaN(s) ? forbidden : -s;
      }
    }
    var rowOfColumn = hungarian(cost, n, m);
    for (int j = 1; j <= m; j++) {
      int i = rowOfColumn[j];
      if (i == 0 || cost[i][j] == forbidden) continue;
      if (transposed) result[j - 1] = i - 1;
      else result[i - 1] = j - 1;
    }
    return result;
  }

  /**
   * More than the cost of any assignment of allowed pairs could differ by, so one forbidden pair fewer always wins:
   * n pairs each within [-max, max].
   */
  private static double forbiddenCost(double[][] score, int n) {
    double max = 0;
    for (var row : score) {
      for (double s : row) {
        if (Double.isInfinite(s)) throw new IllegalArgumentException("scores must be finite or NaN: " + s);
        if (!Double.isNaN(s)) max = Math.max(max, Math.abs(s));
      }
    }
    return 2 * (n + 1) * (max + 1);
  }

  /**
   * The minimum-cost assignment of every row 1..n of {@code cost} to distinct columns 1..m (n ≤ m); returns, per
   * column, its row (0: none). Each row is added by a shortest augmenting path under the potentials u, v.
   */
  private static int[] hungarian(double[][] cost, int n, int m) {
    var u = new double[n + 1];
    var v = new double[m + 1];
    var rowOf = new int[m + 1];
    var way = new int[m + 1];
    var minv = new double[m + 1];
    var used = new boolean[m + 1];
    for (int i = 1; i <= n; i++) {
      rowOf[0] = i;
      int j0 = 0;
      Arrays.fill(minv, Double.POSITIVE_INFINITY);
      Arrays.fill(used, false);
      do {
        used[j0] = true;
        int i0 = rowOf[j0];
        double delta = Double.POSITIVE_INFINITY;
        int j1 = 0;
        for (int j = 1; j <= m; j++) {
          if (used[j]) continue;
          double reduced = cost[i0][j] - u[i0] - v[j];
          if (reduced < minv[j]) {
            minv[j] = reduced;
            way[j] = j0;
          }
          if (minv[j] < delta) {
            delta = minv[j];
            j1 = j;
          }
        }
        for (int j = 0; j <= m; j++) {
          if (used[j]) {
            u[rowOf[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (rowOf[j0] != 0);
      do {
        int j1 = way[j0];
        rowOf[j0] = rowOf[j1];
        j0 = j1;
      } while (j0 != 0);
    }
    return rowOf;
  }

  /** The best allowed pair first, then the best of what is left, and so on; ties by request, then driver index. */
  static int[] greedy(double[][] score) {
    int rows = score.length;
    var result = new int[rows];
    Arrays.fill(result, NONE);
    if (rows == 0) return result;
    int cols = score[0].length;
    int allowed = 0;
    var pairs = new long[rows * cols];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        if (!Double.isNaN(score[i][j])) pairs[allowed++] = (long) i * cols + j;
      }
    }
    var sorted = Arrays.stream(pairs, 0, allowed).boxed().sorted((a, b) -> {
      int byScore = Double.compare(score[(int) (b / cols)][(int) (b % cols)],
          score[(int) (a / cols)][(int) (a % cols)]);
      return byScore != 0 ? byScore : Long.compare(a, b);
    }).mapToLong(Long::longValue).toArray();
    var taken = new boolean[cols];
    int matched = 0;
    for (long pair : sorted) {
      int i = (int) (pair / cols);
      int j = (int) (pair % cols);
      if (result[i] != NONE || taken[j]) continue;
      result[i] = j;
      taken[j] = true;
      if (++matched == Math.min(rows, cols)) break;
    }
    return result;
  }

  /** The requests matched and their total score, the two parts of the objective in order. */
  record Value(int matched, double total) {}

  static Value value(double[][] score, int[] assignment) {
    int matched = 0;
    double total = 0;
    for (int i = 0; i < assignment.length; i++) {
      if (assignment[i] == NONE) continue;
      matched++;
      total += score[i][assignment[i]];
    }
    return new Value(matched, total);
  }
}
