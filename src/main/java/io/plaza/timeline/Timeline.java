package io.plaza.timeline;

import io.plaza.platform.Endpoint;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;

/** Wires the timeline domain into a node: the sharded user timelines and their routes. */
public final class Timeline {

  private Timeline() {}

  public static List<Endpoint> start(ActorSystem<?> system, Duration askTimeout) {
    var config = system.settings().config().getConfig("plaza.timeline");
    // Half the route's timeout: a follow whose followee is slow still answers (202 Pending) before the route gives up.
    var settings = UserTimeline.Settings.fromConfig(config, askTimeout.dividedBy(2));
    var sharding = ClusterSharding.get(system);
    sharding.init(Entity.of(UserTimeline.ENTITY_KEY, ctx -> UserTimeline.create(ctx.getEntityId(), settings,
        Clock.systemUTC(), user -> sharding.entityRefFor(UserTimeline.ENTITY_KEY, user))));
    return new TimelineRoutes(system, askTimeout).endpoints();
  }
}
