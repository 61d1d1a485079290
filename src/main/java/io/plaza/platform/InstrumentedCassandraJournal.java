package io.plaza.platform;

import com.typesafe.config.Config;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.cassandra.journal.CassandraJournal;
import scala.concurrent.Future;
import scala.runtime.BoxedUnit;
import scala.util.Try;

/**
 * The Cassandra journal, measuring each write request: events persisted and persist latency per entity type
 * ({@link Metrics#journalWrite}). Pekko 1.x has no persistence instrumentation hook, and the journal is the one
 * place every entity's writes pass. Configured as {@code pekko.persistence.cassandra.journal.class}.
 */
public final class InstrumentedCassandraJournal extends CassandraJournal {

  private final Metrics metrics;

  public InstrumentedCassandraJournal(Config config, String configPath) {
    super(config, configPath);
    this.metrics = Metrics.get(Adapter.toTyped(context().system()));
  }

  @Override
  public Future<scala.collection.immutable.Seq<Try<BoxedUnit>>> asyncWriteMessages(
      scala.collection.immutable.Seq<AtomicWrite> messages) {
    long start = System.nanoTime();
    // One request carries the writes of one persistent actor.
    String entityType = messages.isEmpty() ? "unknown" : entityType(messages.head().persistenceId());
    int events = 0;
    var it = messages.iterator();
    while (it.hasNext()) events += it.next().size();
    int count = events;
    var written = super.asyncWriteMessages(messages);
    written.onComplete(result -> {
      boolean ok = result.isSuccess() && result.get().forall(Try::isSuccess);
      metrics.journalWrite(entityType, count, System.nanoTime() - start, ok);
      return BoxedUnit.UNIT;
    }, context().dispatcher());
    return written;
  }

  /** "LedgerAccount|42" → "LedgerAccount"; sharding's own stores ("/sharding/…") → "sharding". */
  static String entityType(String persistenceId) {
    if (persistenceId.startsWith("/sharding/")) return "sharding";
    int bar = persistenceId.indexOf('|');
    return bar > 0 ? persistenceId.substring(0, bar) : "other";
  }
}
