package io.plaza.dispatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/** The batch matcher's assignment against brute force on small random score matrices, forbidden pairs included. */
class AssignmentTest {

  private static final double EPSILON = 1e-9;

  @Property(tries = 2_000)
  void theOptimalAssignmentIsAsGoodAsTheBestOfAllAssignments(@ForAll("matrices") double[][] score) {
    var assignment = Assignment.optimal(score);
    assertValid(score, assignment);
    var best = bruteForce(score, 0, new boolean[columns(score)]);
    var found = Assignment.value(score, assignment);
    assertEquals(best.matched(), found.matched(), "requests matched");
    assertEquals(best.total(), found.total(), EPSILON, "total score");
  }

  @Property(tries = 2_000)
  void greedyIsValidAndNeverBetterThanOptimal(@ForAll("matrices") double[][] score) {
    var greedy = Assignment.greedy(score);
    assertValid(score, greedy);
    var g = Assignment.value(score, greedy);
    var o = Assignment.value(score, Assignment.optimal(score));
    assertTrue(g.matched() < o.matched() || g.matched() == o.matched() && g.total() <= o.total() + EPSILON,
        "greedy " + g + " beats optimal " + o);
  }

  @Property(tries = 200)
  void largerMatricesStayValidAndMatchAsManyAsPossible(@ForAll("large") double[][] score) {
    var assignment = Assignment.optimal(score);
    assertValid(score, assignment);
    // Every pair allowed: min(rows, columns) requests get a driver.
    assertEquals(Math.min(score.length, columns(score)), Assignment.value(score, assignment).matched());
  }

  @Example
  void theBatchBeatsTheGreedyPickWhereTheBestPairBlocksTwoGoodOnes() {
    double[][] score = {{0.9, 0.8}, {0.85, 0.1}};
    assertArrayEquals(new int[] {0, 1}, Assignment.greedy(score)); // 0.9 + 0.1
    assertArrayEquals(new int[] {1, 0}, Assignment.optimal(score)); // 0.8 + 0.85
    assertArrayEquals(new int[] {1, 0}, Assignment.solve(score, 2));
    assertArrayEquals(new int[] {0, 1}, Assignment.solve(score, 1)); // past the bound: greedy
  }

  @Example
  void aRiderIsNeverLeftOutToRaiseTheTotal() {
    // Driver 0 is the only one rider 1 may take; rider 0 scores better with it but can take driver 1.
    double[][] score = {{0.95, 0.1}, {0.2, Double.NaN}};
    assertArrayEquals(new int[] {1, 0}, Assignment.optimal(score));
  }

  @Example
  void forbiddenPairsAreNeverAssigned() {
    double[][] score = {{Double.NaN, Double.NaN}, {Double.NaN, 0.5}, {Double.NaN, 0.7}};
    assertArrayEquals(new int[] {Assignment.NONE, Assignment.NONE, 1}, Assignment.optimal(score));
  }

  private static void assertValid(double[][] score, int[] assignment) {
    assertEquals(score.length, assignment.length);
    var drivers = new HashSet<Integer>();
    for (int i = 0; i < assignment.length; i++) {
      int j = assignment[i];
      if (j == Assignment.NONE) continue;
      assertTrue(j >= 0 && j < columns(score), "driver index " + j);
      assertTrue(drivers.add(j), "driver " + j + " assigned twice");
      assertTrue(!Double.isNaN(score[i][j]), "forbidden pair " + i + "," + j + " assigned");
    }
  }

  /** Every assignment, row by row: each request takes no driver or one still free and allowed. */
  private static Assignment.Value bruteForce(double[][] score, int row, boolean[] taken) {
    if (row == score.length) return new Assignment.Value(0, 0);
    var best = bruteForce(score, row + 1, taken);
    for (int j = 0; j < taken.length; j++) {
      if (taken[j] || Double.isNaN(score[row][j])) continue;
      taken[j] = true;
      var rest = bruteForce(score, row + 1, taken);
      taken[j] = false;
      var with = new Assignment.Value(rest.matched() + 1, rest.total() + score[row][j]);
      if (with.matched() > best.matched() || with.matched() == best.matched() && with.total() > best.total()) {
        best = with;
      }
    }
    return best;
  }

  private static int columns(double[][] score) {
    return score.length == 0 ? 0 : score[0].length;
  }

  @Provide
  Arbitrary<double[][]> matrices() {
    // Scores as the scorer gives them (0..1), a quarter of the pairs forbidden, some equal scores.
    Arbitrary<Double> scores = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.doubles().between(0, 1)),
        Tuple.of(1, Arbitraries.of(0.0, 0.5, 1.0)),
        Tuple.of(2, Arbitraries.just(Double.NaN)));
    return matrix(Arbitraries.integers().between(0, 6), Arbitraries.integers().between(1, 6), scores);
  }

  @Provide
  Arbitrary<double[][]> large() {
    return matrix(Arbitraries.integers().between(1, 60), Arbitraries.integers().between(1, 60),
        Arbitraries.doubles().between(0, 1));
  }

  private static Arbitrary<double[][]> matrix(Arbitrary<Integer> rows, Arbitrary<Integer> columns,
      Arbitrary<Double> scores) {
    return rows.flatMap(r -> columns.flatMap(c -> scores.list().ofSize(r * c).map(values -> {
      var score = new double[r][c];
      for (int i = 0; i < r; i++) {
        for (int j = 0; j < c; j++) score[i][j] = values.get(i * c + j);
      }
      return score;
    })));
  }
}
