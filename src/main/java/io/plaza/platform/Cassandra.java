package io.plaza.platform;

import com.datastax.oss.driver.api.core.CqlSession;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;

/** The one Cassandra session of a node, shared by journal, snapshots, projections and read models. */
public final class Cassandra {

  /** The journal plugin's config path: the same session the plugin itself uses. */
  public static final String SESSION_CONFIG = "pekko.persistence.cassandra";

  private Cassandra() {}

  public static CassandraSession session(ClassicActorSystemProvider system) {
    return CassandraSessionRegistry.get(system).sessionFor(CassandraSessionSettings.create(SESSION_CONFIG));
  }

  /** Runs {@code write} for every item at once (the driver pipelines them) and completes when all are written. */
  public static <T> CompletionStage<Done> writeAll(List<T> items, Function<T, CompletionStage<Done>> write) {
    var pending = items.stream().map(write).map(CompletionStage::toCompletableFuture)
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(pending).thenApply(v -> Done.getInstance());
  }

  public static CqlSession underlying(ClassicActorSystemProvider system, Duration timeout) {
    try {
      return session(system).underlying().toCompletableFuture().get(timeout.toMillis(),
          java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot connect to Cassandra", e);
    }
  }
}
