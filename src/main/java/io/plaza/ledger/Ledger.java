package io.plaza.ledger;

import io.plaza.platform.Endpoint;
import io.plaza.platform.TaggedProjections;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import io.plaza.platform.KafkaPublisher;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Wires the ledger domain into a node: the sharded accounts, their projections and their routes. */
public final class Ledger {

  private Ledger() {}

  public static List<String> kafkaTopics(com.typesafe.config.Config config) {
    return List.of(config.getString("plaza.ledger.accounts-topic"));
  }

  public static List<Endpoint> start(
      ActorSystem<?> system, CassandraSession session, KafkaPublisher kafka, Duration askTimeout) {
    var config = system.settings().config();
    var ledger = config.getConfig("plaza.ledger");
    LedgerAccount.init(system, ledger.getInt("remembered-operations"));

    var balances = new CassandraBalanceRepository(session, config.getString("plaza.cassandra.keyspace"));
    int group = ledger.getInt("projection-group-size");
    var within = ledger.getDuration("projection-group-within");
    TaggedProjections.<LedgerAccount.Event>start(system, "balances", LedgerAccount.TAGS, group, within,
        () -> new BalancesProjectionHandler(balances));
    var topic = ledger.getString("accounts-topic");
    TaggedProjections.<LedgerAccount.Event>start(system, "ledger-accounts-kafka", LedgerAccount.TAGS, group, within,
        () -> new AccountEventsKafkaProjectionHandler(kafka, topic));

    return new LedgerRoutes(system, balances, askTimeout).endpoints();
  }
}
