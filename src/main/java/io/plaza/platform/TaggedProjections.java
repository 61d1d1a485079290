package io.plaza.platform;

import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.Done;
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
    var metrics = Metrics.get(system);
    ShardedDaemonProcess.get(system).init(
        ProjectionBehavior.Command.class,
        name,
        tags.size(),
        i -> ProjectionBehavior.create(
            CassandraProjection.groupedWithin(ProjectionId.of(name, tags.get(i)),
                    EventSourcedProvider.<E>eventsByTag(system, CassandraReadJournal.Identifier(), tags.get(i)),
                    () -> new LagMeasured<>(name, handler.get(), metrics))
                .withGroup(groupSize, groupWithin)),
        ShardedDaemonProcessSettings.create(system),
        Optional.of(ProjectionBehavior.stopMessage()));
  }

  /** The handler, recording each envelope's lag (write → handled) as {@link Metrics#projectionLag}. */
  private static final class LagMeasured<E> extends Handler<List<EventEnvelope<E>>> {
    private final Handler<List<EventEnvelope<E>>> handler;
    private final Timer lag;

    LagMeasured(String projection, Handler<List<EventEnvelope<E>>> handler, Metrics metrics) {
      this.handler = handler;
      this.lag = metrics.projectionLag(projection);
    }

    @Override
    public CompletionStage<Done> process(List<EventEnvelope<E>> envelopes) throws Exception {
      return handler.process(envelopes).thenApply(done -> {
        long now = System.currentTimeMillis();
        for (var envelope : envelopes) lag.record(Math.max(0, now - envelope.timestamp()), TimeUnit.MILLISECONDS);
        return done;
      });
    }

    @Override
    public CompletionStage<Done> start() {
      return handler.start();
    }

    @Override
    public CompletionStage<Done> stop() {
      return handler.stop();
    }
  }
}
