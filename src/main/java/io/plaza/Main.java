package io.plaza;

import io.plaza.platform.PlazaConfig;
import io.plaza.platform.PlazaNode;

/** Starts a Plaza node; SIGTERM / Ctrl-C runs Pekko's coordinated shutdown. */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws Exception {
    var node = PlazaNode.start(PlazaConfig.load());
    node.system().getWhenTerminated().toCompletableFuture().get();
    // Also when the cluster downed this node: exit, so the supervisor (systemd, Kubernetes) starts a fresh one.
    System.exit(0);
  }
}
