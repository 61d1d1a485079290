package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The journal plugin instances besides the default one are the same Cassandra journal over the same tables (events
 * written through one are read through another, also across a rolling upgrade), differing only where they mean to.
 */
class JournalPluginsTest {

  private final com.typesafe.config.Config config = ConfigFactory.load();

  @Test
  void theLedgerJournalGathersTagWritesAndTheDefaultOneDoesNot() {
    var ledger = config.getConfig("plaza.ledger-persistence");
    var standard = config.getConfig("pekko.persistence.cassandra");
    assertEquals(Duration.ofMillis(25), ledger.getDuration("events-by-tag.flush-interval"));
    assertEquals(Duration.ZERO, standard.getDuration("events-by-tag.flush-interval"));
    assertEquals(standard.withoutPath("events-by-tag.flush-interval"),
        ledger.withoutPath("events-by-tag.flush-interval"), "nothing else differs: same class, keyspace, tables");
  }

  @Test
  void theOneShotJournalOnlyLeavesDeletesOut() {
    var oneShot = config.getConfig("plaza.one-shot-persistence");
    var standard = config.getConfig("pekko.persistence.cassandra");
    assertFalse(oneShot.getBoolean("journal.support-deletes"));
    assertEquals(standard.withoutPath("journal.support-deletes"), oneShot.withoutPath("journal.support-deletes"));
  }
}
