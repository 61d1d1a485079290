package io.plaza;

import io.plaza.platform.PlazaConfig;
import io.plaza.platform.PlazaNode;
import java.util.Optional;
import org.apache.pekko.actor.CoordinatedShutdown;

/** Starts a Plaza node; SIGTERM / Ctrl-C runs Pekko's coordinated shutdown. */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws Exception {
    var node = PlazaNode.start(PlazaConfig.load());
    node.system().getWhenTerminated().toCompletableFuture().get();
    System.exit(exitCode(CoordinatedShutdown.get(node.system()).getShutdownReason()));
  }

  /**
   * 0 when the node was asked to stop (SIGTERM, or it left the cluster on request); 1 when it stopped on its own —
   * downed by the cluster, no seed node answered, an incompatible configuration, a failure — so that a supervisor
   * (Kubernetes, compose's {@code restart: on-failure}, systemd) starts a fresh one.
   */
  static int exitCode(Optional<CoordinatedShutdown.Reason> reason) {
    return reason.filter(r -> r == CoordinatedShutdown.jvmExitReason()
        || r == CoordinatedShutdown.clusterLeavingReason()).isPresent() ? 0 : 1;
  }
}
