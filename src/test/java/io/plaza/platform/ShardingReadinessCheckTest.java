package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The readiness check says "not ready" until the node has started and its shard regions have registered. */
class ShardingReadinessCheckTest {

  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
      pekko.actor.provider = cluster
      pekko.remote.artery.canonical.port = 0
      pekko.remote.artery.canonical.hostname = "127.0.0.1"
      """).withFallback(ConfigFactory.defaultReference()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static boolean ready(ShardingReadinessCheck check) throws Exception {
    return check.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static boolean becomesReady(ShardingReadinessCheck check) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      if (ready(check)) return true;
      Thread.sleep(200);
    }
    return false;
  }

  @Test
  void notReadyBeforeTheNodeStartedNorWithoutRegisteredRegionsThenReady() throws Exception {
    var system = testKit.system();
    var check = new ShardingReadinessCheck(system.classicSystem());
    assertFalse(ready(check), "the node has not finished starting");

    ShardingReadinessCheck.markStarted(system);
    assertFalse(ready(check), "no shard region yet");

    // A region exists but the node is not a cluster member yet: no coordinator to register with.
    ClusterSharding.get(system).init(Entity.of(EntityTypeKey.create(String.class, "Probe"),
        ctx -> Behaviors.ignore()));
    assertFalse(ready(check), "a region not registered with a coordinator");

    var cluster = Cluster.get(system);
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    assertTrue(becomesReady(check), "every entity region registered");
  }

  /**
   * A rolling upgrade that adds a projection: the new node runs its daemon process, the oldest node (the old release)
   * does not, so the daemon's coordinator does not exist yet and its region cannot register. The new node is ready
   * all the same once its entity regions have registered.
   */
  @Test
  void aProjectionWhoseCoordinatorCannotExistYetDoesNotHoldReadiness() throws Exception {
    var config = ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.port = 0
        pekko.remote.artery.canonical.hostname = "127.0.0.1"
        # The joining node's shutdown waits out the hand-off of the region that has no coordinator: not this test's
        # subject.
        pekko.actor.testkit.typed.throw-on-shutdown-timeout = off
        """).withFallback(ConfigFactory.defaultReference());
    var oldest = ActorTestKit.create("Upgrade", config);
    var joining = ActorTestKit.create("Upgrade", config);
    try {
      var entity = EntityTypeKey.create(String.class, "Account");
      for (var node : List.of(oldest, joining)) {
        ClusterSharding.get(node.system()).init(Entity.of(entity, ctx -> Behaviors.ignore()));
        var cluster = Cluster.get(node.system());
        cluster.manager().tell(Join.create(Cluster.get(oldest.system()).selfMember().address()));
      }
      ShardedDaemonProcess.get(joining.system()).init(String.class, "added-projection", 2, i -> Behaviors.ignore());
      ShardingReadinessCheck.markStarted(joining.system());
      var check = new ShardingReadinessCheck(joining.system().classicSystem());
      assertTrue(becomesReady(check),
          "the entity region registered; the added projection's region cannot and is not waited for");
    } finally {
      joining.shutdownTestKit();
      oldest.shutdownTestKit();
    }
  }
}
