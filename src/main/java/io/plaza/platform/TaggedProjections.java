package io.plaza.platform;

import com.datastax.oss.driver.api.core.uuid.Uuids;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.TimeBasedUUID;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.cassandra.javadsl.CassandraProjection;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.Handler;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One projection per tag of an entity type, spread over the cluster by a ShardedDaemonProcess: at-least-once with
 * offsets in Cassandra, envelopes handed over in groups so a handler can write many events per round trip.
 *
 * <p>One stream feeds every read model of the entity type: each group of envelopes goes through the handlers in the
 * order given (read models first, the Kafka publisher last, so a consumer of the topic finds the read models up to
 * date), and the offset is saved once all of them are done. One events-by-tag query, one deserialization and one
 * offset write per group, where a projection per read model did each once per read model.
 *
 * <p>Taking over from the projections it replaces: on its first start for a tag (no offset of its own yet) it starts
 * from the oldest offset those projections had saved for the tag, so none of their read models misses an event. The
 * events between that offset and the newer ones are handled again, which the handlers tolerate as they tolerate any
 * replay after a crash (read models are idempotent, Kafka delivery is at-least-once).
 *
 * <p>Every start from a saved offset begins {@code restart-rewind} before it. A tag write can land in `tag_views`
 * after the query has passed its time (the journal's ack waits for it, but writes of other entities go on); while
 * the query runs, its back-track finds such a row, but a query started after the offset was saved never looks behind
 * that offset, and the row would be missed for good. Rewinding covers any row up to that late; what it costs is the
 * events of the rewound window handled again, which the handlers tolerate as above.
 */
public final class TaggedProjections {

  private TaggedProjections() {}

  /**
   * The read journal for the tags of entities that deliver their own events ({@link EntityDelivery}): their events
   * are tagged only while an older release is in the cluster, so these queries poll and back-track seldom (a tag
   * write still wakes them at once). See persistence.conf.
   */
  public static final String QUIET_TAGS = "plaza.quiet-tags-persistence.query";

  /** {@link #QUIET_TAGS} if the entities deliver their own events, else the default read journal. */
  public static String readJournal(boolean deliveredByEntity) {
    return deliveredByEntity ? QUIET_TAGS : CassandraReadJournal.Identifier();
  }

  /** @param handlers each makes the handler of one read model for the projection instance of a tag */
  public static <E> void start(
      ActorSystem<?> system, CassandraSession session, String name, List<String> replaces, List<String> tags,
      int groupSize, Duration groupWithin,
      List<Function<String, Handler<List<EventEnvelope<E>>>>> handlers) {
    start(system, session, name, replaces, tags, groupSize, groupWithin, handlers, CassandraReadJournal.Identifier());
  }

  /**
   * @param readJournal the read journal plugin id of the events-by-tag queries ({@link #QUIET_TAGS} for tags that are
   *     written only while an older release is in the cluster)
   */
  public static <E> void start(
      ActorSystem<?> system, CassandraSession session, String name, List<String> replaces, List<String> tags,
      int groupSize, Duration groupWithin,
      List<Function<String, Handler<List<EventEnvelope<E>>>>> handlers, String readJournal) {
    var rewind = system.settings().config().getDuration("plaza.projections.restart-rewind");
    ShardedDaemonProcess.get(system).init(
        ProjectionBehavior.Command.class,
        name,
        tags.size(),
        i -> ProjectionBehavior.create(
            projection(system, session, name, replaces, tags.get(i), groupSize, groupWithin, handlers, rewind,
                readJournal)),
        ShardedDaemonProcessSettings.create(system),
        Optional.of(ProjectionBehavior.stopMessage()));
  }

  /** The projection instance of one tag. */
  static <E> GroupedProjection<Offset, EventEnvelope<E>> projection(
      ActorSystem<?> system, CassandraSession session, String name, List<String> replaces, String tag,
      int groupSize, Duration groupWithin, List<Function<String, Handler<List<EventEnvelope<E>>>>> handlers,
      Duration rewind, String readJournal) {
    var offsets = new OffsetStore(session, system.settings().config().getString(
        "pekko.projection.cassandra.offset-store.keyspace"), system.settings().config().getString(
        "pekko.projection.cassandra.offset-store.table"));
    var metrics = Metrics.get(system);
    return CassandraProjection.groupedWithin(ProjectionId.of(name, tag),
            new TakingOver<>(EventSourcedProvider.<E>eventsByTag(system, readJournal, tag),
                offsets, replaces, tag, rewind),
            () -> new LagMeasured<>(name, new InOrder<>(handlers.stream().map(h -> h.apply(tag)).toList()), metrics))
        .withGroup(groupSize, groupWithin);
  }

  /** {@code offset} moved {@code by} back in time (a time-based UUID; any other offset as it is). */
  static Offset rewound(Offset offset, Duration by) {
    if (by.isZero() || !(offset instanceof TimeBasedUUID time)) return offset;
    return Offset.timeBasedUUID(Uuids.startOf(Uuids.unixTimestamp(time.value()) - by.toMillis()));
  }

  /** The offsets pekko-projection-cassandra saves: one row per projection id, partitioned as it partitions them. */
  static final class OffsetStore {
    private final CassandraSession session;
    private final String select;

    OffsetStore(CassandraSession session, String keyspace, String table) {
      this.session = session;
      this.select = "SELECT offset, manifest FROM " + keyspace + "." + table
          + " WHERE projection_name = ? AND partition = ? AND projection_key = ?";
    }

    /** The saved offset of an events-by-tag projection (a time-based UUID), if it saved one. */
    CompletionStage<Optional<TimeBasedUUID>> read(String name, String key) {
      return session.selectOne(select, name, Math.abs(key.hashCode() % 5), key).thenApply(row -> row
          .filter(r -> "TBU".equals(r.getString("manifest")))
          .map(r -> (TimeBasedUUID) Offset.timeBasedUUID(UUID.fromString(r.getString("offset")))));
    }

    /** The oldest offset the projections {@code names} saved for {@code key}; empty if any of them saved none. */
    CompletionStage<Optional<Offset>> oldest(List<String> names, String key) {
      CompletionStage<Optional<TimeBasedUUID>> oldest = CompletableFuture.completedFuture(null);
      for (var name : names) {
        oldest = oldest.thenCompose(sofar -> sofar != null && sofar.isEmpty()
            ? CompletableFuture.completedFuture(sofar)
            : read(name, key).thenApply(saved -> sofar == null || saved.isEmpty() ? saved
                : Optional.of(saved.get().compareTo(sofar.get()) < 0 ? saved.get() : sofar.get())));
      }
      return oldest.thenApply(o -> o == null ? Optional.<Offset>empty() : o.map(Offset.class::cast));
    }
  }

  /**
   * The events-by-tag source, starting where the replaced projections left off when it has no offset yet, and
   * {@code rewind} before the offset it starts from.
   */
  private static final class TakingOver<E> extends SourceProvider<Offset, EventEnvelope<E>> {
    private final SourceProvider<Offset, EventEnvelope<E>> events;
    private final OffsetStore offsets;
    private final List<String> replaces;
    private final String tag;
    private final Duration rewind;

    TakingOver(SourceProvider<Offset, EventEnvelope<E>> events, OffsetStore offsets, List<String> replaces,
        String tag, Duration rewind) {
      this.events = events;
      this.offsets = offsets;
      this.replaces = replaces;
      this.tag = tag;
      this.rewind = rewind;
    }

    @Override
    public CompletionStage<Source<EventEnvelope<E>, NotUsed>> source(
        Supplier<CompletionStage<Optional<Offset>>> offset) {
      return events.source(() -> offset.get().thenCompose(own -> own.isPresent() || replaces.isEmpty()
          ? CompletableFuture.completedFuture(own)
          : offsets.oldest(replaces, tag)).thenApply(start -> start.map(o -> rewound(o, rewind))));
    }

    @Override
    public Offset extractOffset(EventEnvelope<E> envelope) {
      return events.extractOffset(envelope);
    }

    @Override
    public long extractCreationTime(EventEnvelope<E> envelope) {
      return events.extractCreationTime(envelope);
    }
  }

  /** Each group through every handler, one after the other. */
  private static final class InOrder<E> extends Handler<List<EventEnvelope<E>>> {
    private final List<Handler<List<EventEnvelope<E>>>> handlers;

    InOrder(List<Handler<List<EventEnvelope<E>>>> handlers) {
      this.handlers = handlers;
    }

    @Override
    public CompletionStage<Done> process(List<EventEnvelope<E>> envelopes) throws Exception {
      CompletionStage<Done> done = CompletableFuture.completedFuture(Done.getInstance());
      for (var handler : handlers) {
        done = done.thenCompose(d -> {
          try {
            return handler.process(envelopes);
          } catch (Exception e) {
            return CompletableFuture.failedFuture(e);
          }
        });
      }
      return done;
    }

    @Override
    public CompletionStage<Done> start() {
      return all(Handler::start);
    }

    @Override
    public CompletionStage<Done> stop() {
      return all(Handler::stop);
    }

    private CompletionStage<Done> all(java.util.function.Function<Handler<?>, CompletionStage<Done>> step) {
      CompletionStage<Done> done = CompletableFuture.completedFuture(Done.getInstance());
      for (var handler : handlers) done = done.thenCompose(d -> step.apply(handler));
      return done;
    }
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
