package io.plaza.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.NodeProcess;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of one node of a 3-node cluster (real processes) while chat, ledger and timeline traffic runs. Its entities
 * come back on the survivors (the split-brain resolver downs it: keep-majority), clients fail over with the same
 * idempotency keys, WebSocket devices reconnect to another node and resync; afterwards nothing acknowledged is lost
 * or duplicated, chat seqs are gap-free and the ledger checker passes. Then the node comes back and rejoins.
 *
 * <p>The default build runs it short (a smoke test, about 3 minutes); {@code bin/cluster-test fault} runs it with
 * minutes of traffic on each side of the kill ({@code plaza.cluster-test.load-seconds}).
 */
class ClusterFaultIT {

  private static final Duration LOAD = Duration.ofSeconds(Long.getLong("plaza.cluster-test.load-seconds", 15));

  /** The first positive value within 60 s (allocation and rebalancing take a moment), else the last. */
  private static int awaitValue(java.util.function.IntSupplier value) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    int last = value.getAsInt();
    while (last <= 0 && System.nanoTime() < deadline) {
      Thread.sleep(500);
      last = value.getAsInt();
    }
    return last;
  }

  @Test
  void aKilledNodeLosesNoAcknowledgedWriteAndRejoins() throws Exception {
    try (var cluster = new LocalCluster("fault", 3, Map.of());
        var traffic = new ClusterTraffic(cluster)) {
      cluster.start(NodeProcess.classpath());
      // The projections' daemon processes (8 instances each) are spread over all three nodes (rebalanced onto the
      // nodes that joined after the first).
      int least = awaitValue(() -> java.util.stream.IntStream.range(0, cluster.size())
          .map(i -> cluster.shardsHosted(i, "sharded-daemon-process-ledger-accounts")).min().orElse(0));
      assertTrue(least >= 1, "every node runs some of the 8 ledger-accounts projection instances");
      traffic.setUp();
      traffic.start();
      Thread.sleep(LOAD.toMillis());
      long ackedBeforeKill = traffic.acknowledged();

      // Node 1 (a seed, not the oldest): coordinator and singletons stay; its shards, projections and sockets move.
      int victim = 1;
      long killedAt = System.nanoTime();
      cluster.kill(victim);
      cluster.awaitUp(2, Duration.ofSeconds(90));
      double downedAfter = (System.nanoTime() - killedAt) / 1e9;
      Thread.sleep(LOAD.toMillis());
      long ackedAfterKill = traffic.acknowledged() - ackedBeforeKill;
      // Client-visible recovery: until the last request that needed a retry got its answer.
      long lastRetried = traffic.client.lastRetriedAnswerAt.get();
      double recovered = lastRetried > killedAt ? (lastRetried - killedAt) / 1e9 : 0;

      // Back again on the same ports: it rejoins and takes shards and traffic.
      long restartedAt = System.nanoTime();
      cluster.start(victim, NodeProcess.classpath());
      cluster.awaitUp(3, Duration.ofSeconds(90));
      double rejoinedAfter = (System.nanoTime() - restartedAt) / 1e9;
      Thread.sleep(Math.min(LOAD.toMillis(), 10_000));
      traffic.stop();

      var summary = traffic.verify(Duration.ofSeconds(90));
      var client = traffic.client;
      System.out.printf("cluster fault test: node %d killed (-9) under load; the survivors downed it after %.1f s; "
              + "the last retried request was answered %.1f s after the kill (recovery time); restarted, it rejoined "
              + "after %.1f s%n  requests %d, needed a retry %d (%.2f %%), failed %d; acknowledged before the kill "
              + "%d, between kill and restart %d%n  %s%n", victim, downedAfter, recovered, rejoinedAfter,
          client.requests.get(), client.retried.get(), 100.0 * client.retried.get() / client.requests.get(),
          client.failed.get(), ackedBeforeKill, ackedAfterKill, summary);
      assertTrue(ackedAfterKill > 0, "the cluster served writes with one node dead");
      assertEquals(0, client.failed.get(), "every request got an answer, with retries");
      assertEquals(200, cluster.status(victim, "/ready"), "the rejoined node is ready");
    }
  }
}
