package io.plaza.ledger;

import io.plaza.platform.SameRelease;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Whether a plain transfer is coordinated by its source account ({@link LedgerAccount.Send}) rather than run by a
 * {@link Transfer} saga: when {@code plaza.ledger.transfers.coordinated-by-source} is on and every cluster member runs
 * this node's version. A node of an older release can neither read {@code Send} nor the events it writes, so while a
 * rolling upgrade is under way transfers keep going through sagas, which both releases run.
 */
final class SourceCoordination implements BooleanSupplier {

  private final boolean enabled;
  private final SameRelease sameRelease;

  SourceCoordination(ActorSystem<?> system, boolean enabled) {
    this.enabled = enabled;
    this.sameRelease = new SameRelease(system);
  }

  @Override
  public boolean getAsBoolean() {
    return enabled && sameRelease.getAsBoolean();
  }
}
