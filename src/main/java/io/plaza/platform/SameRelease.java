package io.plaza.platform;

import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Whether every cluster member runs this node's release ({@code pekko.cluster.app-version}). What a release adds that
 * an older one cannot take part in (new commands and events, new sharded entity types, whose coordinator runs on the
 * oldest node) is used only while this holds, so a rolling upgrade runs on what both releases share.
 */
public final class SameRelease implements BooleanSupplier {

  private final Cluster cluster;
  /** The cluster state last looked at and the answer for it: asked per message, recomputed when membership changes. */
  private volatile Answer last;

  private record Answer(Object state, boolean same) {}

  public SameRelease(ActorSystem<?> system) {
    this.cluster = Cluster.get(system);
  }

  @Override
  public boolean getAsBoolean() {
    var state = cluster.state(); // the same object until the cluster's membership or reachability changes
    var answer = last;
    if (answer == null || answer.state() != state) {
      answer = new Answer(state, sameVersion(state.getMembers()));
      last = answer;
    }
    return answer.same();
  }

  private boolean sameVersion(Iterable<Member> members) {
    var version = cluster.selfMember().appVersion();
    for (Member member : members) {
      if (!member.appVersion().equals(version)) return false;
    }
    return true;
  }
}
