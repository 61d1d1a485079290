package io.plaza.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.NodeProcess;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A rolling upgrade under steady chat, ledger and timeline traffic: three nodes of release N (built here from its git
 * commit) are replaced one at a time by this build, N+1, the oldest last, each new node ready before the next old one
 * stops. Transfers are in flight across every step (old-style sagas started on N complete on N+1).
 *
 * <p>N = 0.3.0. N+1 runs one projection per entity type where N ran one per read model ({@code balances},
 * {@code journal}, {@code ledger-accounts-kafka} become {@code ledger-accounts}, and so on): the new projection starts
 * from the oldest offset the old ones saved, while N's projections still run on N's nodes, so no read model misses an
 * event (the ledger invariants check the balances against the journal and the entities). N+1 also group-commits
 * account and conversation commands; the events and messages on the wire are unchanged. (0.2.0 → 0.3.0, the
 * {@code PostCreated} schema migration, was this test's previous step; {@code PostCreatedMigrationTest} keeps it.)
 * N+1 (0.4.0) lets a source account coordinate a plain transfer, with a command and events N cannot read: it does so
 * only once every member reports its version, so a transfer made while N's nodes still run is a saga, and one made
 * after the last is replaced has no saga (both checked in the journal). Likewise a conversation delivers its events
 * itself, untagged, only once every member runs N+1 (checked in the tag progress; the history must still be complete).
 * Afterwards: no acknowledged write lost or duplicated, the ledger invariants hold, N+1 reads the events N wrote (a
 * post made on N replayed by its Idempotency-Key on N+1 is the same post), and fewer than 1 % of requests needed a
 * client retry.
 *
 * <p>Short in the default build (a smoke run); {@code bin/cluster-test upgrade} runs it with minutes of traffic.
 */
class RollingUpgradeIT {

  /** Release N: 0.3.0, the last release before projections were consolidated. Re-pin at the next release. */
  static final String FROM_COMMIT = "504a6a73690b12abea8f06fa3b224f0f906a90c1";
  private static final Duration LOAD = Duration.ofSeconds(Long.getLong("plaza.cluster-test.load-seconds", 15));

  @Test
  void replacingEveryNodeWithTheNextReleaseUnderLoadLosesNothing() throws Exception {
    var previous = buildRelease(FROM_COMMIT);
    var next = NodeProcess.classpath();
    try (var cluster = new LocalCluster("upgrade", 3, Map.of());
        var traffic = new ClusterTraffic(cluster)) {
      cluster.start(previous);
      traffic.setUp();
      traffic.start();
      Thread.sleep(LOAD.toMillis());
      var writtenByPrevious = traffic.newestPostKeyByAuthor().values();
      assertTrue(!writtenByPrevious.isEmpty(), "release N acknowledged posts");

      long upgradeStarted = System.nanoTime();
      String madeWhileMixed = null;
      for (int node : List.of(2, 1, 0)) { // node 0 is the oldest: the coordinator and singletons move once
        cluster.stop(node);
        cluster.start(node, next);
        cluster.awaitUp(3, Duration.ofSeconds(180));
        // While old nodes run, a new node must not hand a transfer to a source account: the old ones could not read
        // its command or events. Plain transfers stay sagas until every member runs this build.
        if (node == 2) madeWhileMixed = traffic.transferOnce("mixed-" + node);
        Thread.sleep(Math.max(5_000, LOAD.toMillis() / 3));
      }
      var madeAfter = traffic.transferOnce("after-upgrade");
      try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
          .addContactPoint(new java.net.InetSocketAddress("127.0.0.1", io.plaza.platform.TestNodes.CASSANDRA_PORT))
          .withLocalDatacenter("datacenter1").build()) {
        assertTrue(sagaEvents(cql, cluster.keyspace, madeWhileMixed) > 0, "a transfer made mid-rollout ran as a saga");
        assertEquals(0, sagaEvents(cql, cluster.keyspace, madeAfter),
            "once every node runs this build, the source account coordinates a plain transfer");
      }
      double upgradeSeconds = (System.nanoTime() - upgradeStarted) / 1e9;
      Thread.sleep(Math.min(LOAD.toMillis(), 10_000));
      traffic.stop();
      try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
          .addContactPoint(new java.net.InetSocketAddress("127.0.0.1", io.plaza.platform.TestNodes.CASSANDRA_PORT))
          .withLocalDatacenter("datacenter1").build()) {
        // N tagged every conversation and user timeline event; once every node runs N+1 these entities deliver
        // their events themselves and tag none, so their journals go on past their tag progress (and verify() finds
        // every message in the history and every post in its author's posts).
        var conversation = journalAndTagged(cql, cluster.keyspace, "Conversation|" + traffic.conversation());
        assertTrue(conversation[1] > 0, "release N tagged the conversation's events");
        assertTrue(conversation[0] > conversation[1], "after the upgrade the conversation's events are untagged: "
            + "journal " + conversation[0] + ", tagged through " + conversation[1]);
        var authors = traffic.authors().stream()
            .map(author -> journalAndTagged(cql, cluster.keyspace, "UserTimeline|" + author)).toList();
        assertTrue(authors.stream().anyMatch(author -> author[1] > 0 && author[0] > author[1]),
            "after the upgrade an author's events are untagged (journal and tagged through, per author): "
            + authors.stream().map(java.util.Arrays::toString).toList());
      }

      // Each author's newest post made on N, if the author has not since posted so much that its entity forgot the
      // key by design; at least one must be left to replay.
      var replayable = writtenByPrevious.stream().filter(traffic::postKeyRemembered).sorted().limit(5).toList();
      assertTrue(!replayable.isEmpty(), "a post made on release N is still within its author's remembered keys");
      var replayed = replayable.stream().map(traffic::replayPost).toList();
      var summary = traffic.verify(Duration.ofSeconds(90));
      var client = traffic.client;
      double retriedPercent = 100.0 * client.retried.get() / client.requests.get();
      System.out.printf("rolling upgrade test: 3 nodes of %s replaced one at a time by this build in %.1f s under "
              + "load (oldest last)%n  requests %d, needed a client retry %d (%.2f %%, goal < 1 %%), failed %d; "
              + "acknowledged writes %d, lost 0, duplicated 0%n  posts written by release N replayed on N+1: %s%n"
              + "  %s%n", FROM_COMMIT.substring(0, 8), upgradeSeconds, client.requests.get(), client.retried.get(),
          retriedPercent, client.failed.get(), traffic.acknowledged(), replayed, summary);
      assertEquals(0, client.failed.get(), "every request got an answer");
      assertTrue(retriedPercent < 1.0, "fewer than 1 % of requests needed a retry: " + retriedPercent);
    }
  }

  /** The highest sequence number in the journal of {@code persistenceId}, and the highest one tagged (0: none). */
  private static long[] journalAndTagged(com.datastax.oss.driver.api.core.CqlSession cql, String keyspace,
      String persistenceId) {
    long journal = cql.execute("SELECT max(sequence_nr) FROM " + keyspace + ".messages WHERE persistence_id = ? "
        + "AND partition_nr = 0", persistenceId).one().getLong(0);
    var tagged = cql.execute("SELECT max(sequence_nr) FROM " + keyspace + ".tag_write_progress WHERE "
        + "persistence_id = ?", persistenceId).one();
    return new long[] {journal, tagged == null ? 0 : tagged.getLong(0)};
  }

  /** How many events the saga entity of {@code transferId} wrote (none: it had no saga). */
  private static long sagaEvents(com.datastax.oss.driver.api.core.CqlSession cql, String keyspace, String transferId) {
    return cql.execute("SELECT count(*) FROM " + keyspace + ".messages WHERE persistence_id = ? AND partition_nr = 0",
        "Transfer|" + transferId).one().getLong(0);
  }

  /**
   * The classpath of release {@code commit}: its tree from git, built once with Maven into
   * target/releases/{commit} (reused by later runs while target/ stays).
   */
  static String buildRelease(String commit) throws IOException, InterruptedException {
    var dir = Path.of("target", "releases", commit.substring(0, 12)).toAbsolutePath();
    var jar = dir.resolve("target/plaza.jar");
    if (!Files.exists(jar)) {
      Files.createDirectories(dir);
      // A shallow clone lacks the commit: deepen it from its origin first.
      run(dir, "bash", "-c", "set -eo pipefail; cd " + Path.of("").toAbsolutePath() + "; if ! git cat-file -e "
          + commit + "^{commit} 2>/dev/null; then git fetch --quiet --unshallow || git fetch --quiet origin " + commit
          + "; fi; git archive " + commit + " | tar -x -C " + dir);
      // With this repository's Maven wrapper (release N has none): only a JDK needed.
      run(dir, Path.of("mvnw").toAbsolutePath().toString(), "-B", "-q", "-DskipTests", "-f",
          dir.resolve("pom.xml").toString(), "package");
    }
    return jar + File.pathSeparator + dir.resolve("target/lib/*");
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    var log = dir.resolveSibling(dir.getFileName() + ".build.log");
    var process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!process.waitFor(10, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " failed building release N; see " + log + ":\n"
          + Files.readString(log));
    }
  }
}
