package io.plaza.platform;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.pattern.Patterns;

/**
 * Readiness check (Pekko Management): the node is ready once it has started every domain (entities, projections,
 * HTTP) and each of its entities' shard regions has registered with the sharding coordinator. A load balancer or a
 * rolling update then never sends traffic to a node that would only time out.
 *
 * <p>The projections' daemon-process regions are not waited for: they serve no request, and a projection added by a
 * release gets its coordinator only once the oldest node runs that release. Waiting for them held every new node of a
 * rolling upgrade unready until the last old node left, which an orchestrator waiting for readiness never does.
 *
 * <p>Once every region has registered, the check stays true (as Pekko's own sharding check does): a coordinator that
 * moves during a rolling update must not make every node unready at once.
 */
public final class ShardingReadinessCheck implements Supplier<CompletionStage<Boolean>> {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  /** Pekko's name for the region of a ShardedDaemonProcess. */
  private static final String DAEMON_PROCESS_PREFIX = "sharded-daemon-process-";

  private final ActorSystem system;
  private final AtomicBoolean registered = new AtomicBoolean();

  public ShardingReadinessCheck(ActorSystem system) {
    this.system = system;
  }

  /**
   * Entity types this check does not wait for: ones a release adds that no request depends on (caches, tickets),
   * used only once every member runs the release ({@link SameRelease}). Their coordinator runs on the oldest node, so
   * during a rolling upgrade their regions cannot register until the last old node has left; waiting for them would
   * keep every new node unready, and an orchestrator waiting for readiness would never get there.
   */
  public static void doNotAwait(org.apache.pekko.actor.typed.ActorSystem<?> system, String entityType) {
    STARTED.get(system.classicSystem()).notAwaited.add(entityType);
  }

  /** Called by {@link PlazaNode} when the last domain is wired and the HTTP API is bound. */
  static void markStarted(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    STARTED.get(system.classicSystem()).value.set(true);
  }

  @Override
  public CompletionStage<Boolean> get() {
    if (!STARTED.get(system).value.get()) return CompletableFuture.completedFuture(false);
    if (registered.get()) return CompletableFuture.completedFuture(true);
    var sharding = ClusterSharding.get(system);
    Set<String> names = scala.jdk.javaapi.CollectionConverters.asJava(sharding.shardTypeNames()).stream()
        .filter(name -> !name.startsWith(DAEMON_PROCESS_PREFIX))
        .filter(name -> !STARTED.get(system).notAwaited.contains(name)).collect(Collectors.toSet());
    var answers = new ArrayList<CompletableFuture<Boolean>>();
    // The same region query Pekko's ClusterShardingHealthCheck asks; ours finds the regions itself instead of a
    // configured list of names that would drift from the code.
    for (var name : names) {
      answers.add(Patterns.ask(sharding.shardRegion(name), ShardRegion.GetShardRegionStatus$.MODULE$, TIMEOUT)
          .thenApply(reply -> ((ShardRegion.ShardRegionStatus) reply).registeredWithCoordinator())
          .exceptionally(e -> false)
          .toCompletableFuture());
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenApply(done -> {
      boolean all = !names.isEmpty() && answers.stream().allMatch(CompletableFuture::join);
      if (all) registered.set(true);
      return all;
    });
  }

  /** Per actor system (tests run several nodes in one JVM): has {@link PlazaNode} finished starting it. */
  private static final class Started implements Extension {
    final AtomicBoolean value = new AtomicBoolean();
    final Set<String> notAwaited = java.util.concurrent.ConcurrentHashMap.newKeySet();
  }

  private static final AbstractExtensionId<Started> STARTED = new AbstractExtensionId<>() {
    @Override
    public Started createExtension(ExtendedActorSystem system) {
      return new Started();
    }
  };
}
