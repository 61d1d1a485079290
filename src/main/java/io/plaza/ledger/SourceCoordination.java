package io.plaza.ledger;

import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Whether a plain transfer is coordinated by its source account ({@link LedgerAccount.Send}) rather than run by a
 * {@link Transfer} saga: when {@code plaza.ledger.transfers.coordinated-by-source} is on and every cluster member runs
 * this node's version. A node of an older release can neither read {@code Send} nor the events it writes, so while a
 * rolling upgrade is under way transfers keep going through sagas, which both releases run.
 */
final class SourceCoordination implements BooleanSupplier {

  private final boolean enabled;
  private final Cluster cluster;

  SourceCoordination(ActorSystem<?> system, boolean enabled) {
    this.enabled = enabled;
    this.cluster = Cluster.get(system);
  }

  @Override
  public boolean getAsBoolean() {
    if (!enabled) return false;
    var version = cluster.selfMember().appVersion();
    for (Member member : cluster.state().getMembers()) {
      if (!member.appVersion().equals(version)) return false;
    }
    return true;
  }
}
