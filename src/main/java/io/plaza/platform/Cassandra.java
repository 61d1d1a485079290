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

/**
 * The Cassandra session of a node, shared by journal, snapshots, projections and read models (the one-shot and the
 * ledger journals have one each).
 */
public final class Cassandra {

  /** The journal plugin's config path: the same session the plugin itself uses. */
  public static final String SESSION_CONFIG = "pekko.persistence.cassandra";

  private static final String DEFAULT_JOURNAL = SESSION_CONFIG + ".journal";
  private static final String ONE_SHOT_JOURNAL = "plaza.one-shot-persistence.journal";
  private static final String LEDGER_JOURNAL = "plaza.ledger-persistence.journal";

  private Cassandra() {}

  /**
   * The journal of entities that are written once and never delete events (transfers, batches, rides): the Cassandra
   * journal without delete support (persistence.conf), whose recovery of a new entity skips the `metadata` read
   * (deleted-to) that the default journal needs because the remember-entities store deletes events. Same tables.
   * Only where the Cassandra journal is the default: entity tests on the in-memory journal keep theirs.
   */
  public static String oneShotJournal(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return insteadOfTheDefault(system, ONE_SHOT_JOURNAL);
  }

  /**
   * The journal of ledger accounts: the Cassandra journal gathering tag writes for a few ms into one batch
   * (persistence.conf), a `tag_views` write for many events. Same tables; only where the Cassandra journal is the
   * default.
   */
  public static String ledgerJournal(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return insteadOfTheDefault(system, LEDGER_JOURNAL);
  }

  private static String insteadOfTheDefault(org.apache.pekko.actor.typed.ActorSystem<?> system, String journal) {
    var plugin = system.settings().config().getString("pekko.persistence.journal.plugin");
    return DEFAULT_JOURNAL.equals(plugin) ? journal : "";
  }

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
