package io.plaza.platform;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.cassandra.javadsl.CassandraProjection;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Runs one projection per tag, spread over the cluster by a ShardedDaemonProcess: at-least-once with offsets in
 * Cassandra, envelopes handed over in groups so a handler can write many events per round trip (a handler taking one
 * envelope at a time is slower than the write side).
 */
public final class TaggedProjections {

  private TaggedProjections() {}

  public static <E> void start(
      ActorSystem<?> system, String name, List<String> tags, int groupSize, Duration groupWithin,
      Supplier<Handler<List<EventEnvelope<E>>>> handler) {
    ShardedDaemonProcess.get(system).init(
        ProjectionBehavior.Command.class,
        name,
        tags.size(),
        i -> ProjectionBehavior.create(
            CassandraProjection.groupedWithin(ProjectionId.of(name, tags.get(i)),
                    EventSourcedProvider.<E>eventsByTag(system, CassandraReadJournal.Identifier(), tags.get(i)),
                    handler)
                .withGroup(groupSize, groupWithin)),
        ShardedDaemonProcessSettings.create(system),
        Optional.of(ProjectionBehavior.stopMessage()));
  }

}
