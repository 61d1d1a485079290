package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
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
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    boolean ready = false;
    while (!ready && System.nanoTime() < deadline) {
      ready = ready(check);
      if (!ready) Thread.sleep(200);
    }
    assertTrue(ready, "every region registered");
  }
}
