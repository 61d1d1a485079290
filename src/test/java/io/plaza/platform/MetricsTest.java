package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {

  private final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  sealed interface Probe {}

  record Ping() implements Probe {}

  record Pong() implements Probe {}

  @Test
  void anEntityCountsTheCommandsItReceives() throws Exception {
    var metrics = Metrics.get(testKit.system());
    var received = new java.util.concurrent.CountDownLatch(3);
    Behavior<Probe> counting = metrics.countingCommands("Probe", Probe.class, Behaviors.receiveMessage(m -> {
      received.countDown();
      return Behaviors.same();
    }));
    var entity = testKit.spawn(counting);
    entity.tell(new Ping());
    entity.tell(new Pong());
    entity.tell(new Ping());
    assertTrue(received.await(5, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(3.0, metrics.registry().get("plaza.entity.commands").tag("entity", "Probe").counter().count());
    assertTrue(metrics.scrape().contains("plaza_entity_commands_total{entity=\"Probe\"} 3.0"), metrics.scrape());
  }

  @Test
  void journalWritesAreNamedByTheirEntityType() {
    assertEquals("LedgerAccount", InstrumentedCassandraJournal.entityType("LedgerAccount|9dea-42"));
    assertEquals("Conversation", InstrumentedCassandraJournal.entityType("Conversation|g|x"));
    assertEquals("sharding", InstrumentedCassandraJournal.entityType("/sharding/TransferCoordinatorStore"));
    assertEquals("other", InstrumentedCassandraJournal.entityType("no-separator"));

    var metrics = Metrics.get(testKit.system());
    metrics.journalWrite("Journaled", 3, 2_000_000, true);
    metrics.journalWrite("Journaled", 1, 9_000_000, false);
    assertEquals(3.0, metrics.registry().get("plaza.entity.events.persisted").tag("entity", "Journaled").counter()
        .count(), "a failed write persisted nothing");
    assertEquals(1, metrics.registry().get("plaza.entity.persist").tags("entity", "Journaled", "outcome", "failed")
        .timer().count());
  }

  interface Table {
    java.util.concurrent.CompletionStage<String> read(String key);
  }

  @Test
  void aReadPathCountsTheStatementsItIssuesAndPassesResultsAndFailuresThrough() {
    var metrics = Metrics.get(testKit.system());
    Table table = key -> {
      if (key.isEmpty()) throw new IllegalArgumentException("no key");
      return java.util.concurrent.CompletableFuture.completedFuture("row " + key);
    };
    var counted = metrics.countingStatements(Table.class, table, "probe-path");
    assertEquals("row a", counted.read("a").toCompletableFuture().join());
    assertEquals("row b", counted.read("b").toCompletableFuture().join());
    var thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> counted.read(""));
    assertEquals("no key", thrown.getMessage());
    counted.toString(); // not a statement
    assertEquals(3.0, metrics.registry().get("plaza.read.path.statements").tag("path", "probe-path").counter()
        .count());
  }

  private static Map.Entry<MetricName, Metric> metric(String name, Map<String, String> tags, double value) {
    return Map.entry(new MetricName(name, "consumer-fetch-manager-metrics", "", tags), new Metric() {
      @Override
      public MetricName metricName() {
        return new MetricName(name, "consumer-fetch-manager-metrics", "", tags);
      }

      @Override
      public Object metricValue() {
        return value;
      }
    });
  }

  @Test
  void consumerLagIsTheSumOverThePartitionsThisNodeFetches() {
    var metrics = Map.ofEntries(
        metric("records-lag", Map.of("topic", "t", "partition", "0"), 40),
        metric("records-lag", Map.of("topic", "t", "partition", "1"), 2),
        metric("records-lag", Map.of("topic", "t", "partition", "2"), Double.NaN), // not fetched yet
        metric("records-lag-max", Map.of("client-id", "c"), 40), // the client-wide maximum, not a partition
        metric("records-lag", Map.of("client-id", "c"), 99));
    assertEquals(42, Kafka.recordsLag(metrics));
  }
}
