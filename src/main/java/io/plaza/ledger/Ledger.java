package io.plaza.ledger;

import io.plaza.platform.Admins;
import io.plaza.platform.Endpoint;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.KafkaPublisher;
import io.plaza.platform.TaggedProjections;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Wires the ledger domain into a node: the sharded accounts and transfers, their projections and their routes. */
public final class Ledger {

  private Ledger() {}

  public static List<String> kafkaTopics(com.typesafe.config.Config config) {
    return List.of(config.getString("plaza.ledger.accounts-topic"), config.getString("plaza.ledger.transfers-topic"));
  }

  public static List<Endpoint> start(
      ActorSystem<?> system, CassandraSession session, KafkaPublisher kafka, Duration askTimeout) {
    var config = system.settings().config();
    var ledger = config.getConfig("plaza.ledger");
    var keyspace = config.getString("plaza.cassandra.keyspace");
    var transferSettings = Transfer.Settings.fromConfig(ledger.getConfig("transfers"));
    LedgerAccount.init(system, LedgerAccount.Memory.fromConfig(ledger), transferSettings);
    Transfer.init(system, transferSettings);
    TransferBatch.init(system, transferSettings);

    int group = ledger.getInt("projection-group-size");
    var within = ledger.getDuration("projection-group-within");
    // One projection per entity type feeds all its read models and then Kafka (see TaggedProjections).
    var journal = new CassandraJournalRepository(session, keyspace);
    var balances = new CassandraBalanceRepository(session, keyspace, journal);
    var accountsTopic = ledger.getString("accounts-topic");
    var transfers = new CassandraTransferRepository(session, keyspace);
    var transfersTopic = ledger.getString("transfers-topic");
    var sharding = org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.get(system);
    var sweep = new AccountTransfersProjectionHandler.Sweep(ledger.getDuration("transfers.sweep-interval"),
        ledger.getDuration("transfers.settle-within"),
        accountId -> sharding.entityRefFor(LedgerAccount.ENTITY_KEY, accountId)
            .tell(new LedgerAccount.Describe(system.ignoreRef())),
        java.time.Clock.systemUTC(), pendingRowDelay(system.settings().config()));
    // The account events also carry the transfers their source accounts coordinate: their rows and messages.
    TaggedProjections.<LedgerAccount.Event>start(system, session, "ledger-accounts",
        List.of("balances", "journal", "ledger-accounts-kafka"), LedgerAccount.TAGS, group, within, List.of(
            tag -> new BalancesProjectionHandler(balances),
            tag -> new JournalProjectionHandler(journal),
            tag -> new AccountTransfersProjectionHandler(transfers, tag, system, sweep),
            tag -> new KafkaProjectionHandler<>(kafka, accountsTopic, LedgerAccount.Event::accountId,
                AccountEventMessage::of),
            tag -> new KafkaProjectionHandler<>(kafka, transfersTopic, TransferEventMessage::transferIdOf,
                TransferEventMessage::ofAccountEvent)));

    TaggedProjections.<Transfer.Event>start(system, session, "ledger-transfers",
        List.of("transfers", "ledger-transfers-kafka"), Transfer.TAGS, group, within, List.of(
            tag -> new TransfersProjectionHandler(transfers),
            tag -> new KafkaProjectionHandler<>(kafka, transfersTopic, Transfer.Event::transferId,
                TransferEventMessage::of)));
    TaggedProjections.<TransferBatch.Event>start(system, session, "ledger-transfer-batches",
        List.of("transfer-batches", "ledger-batches-kafka"), TransferBatch.TAGS, group, within, List.of(
            tag -> new TransferBatchesProjectionHandler(transfers),
            tag -> new KafkaProjectionHandler<>(kafka, transfersTopic, TransferBatch.Event::batchId,
                TransferBatchEventMessage::of)));

    var endpoints = new ArrayList<>(new LedgerRoutes(system, balances, journal, askTimeout).endpoints());
    var coordinatedBySource = new SourceCoordination(system,
        ledger.getBoolean("transfers.coordinated-by-source"));
    endpoints.addAll(new TransferRoutes(system, transfers, askTimeout, coordinatedBySource).endpoints());
    endpoints.addAll(new TransferBatchRoutes(system, transfers, askTimeout).endpoints());
    endpoints.addAll(new LedgerAdminRoutes(system, Admins.fromConfig(config)).endpoints());
    return endpoints;
  }

  /**
   * How long a coordinated transfer's row waits for its settlement. A debit held that long and lost with a crash is
   * seen again only if the projection restarts further back than that: a configuration that breaks this is refused.
   */
  static java.time.Duration pendingRowDelay(com.typesafe.config.Config config) {
    var delay = config.getDuration("plaza.ledger.transfers.pending-row-delay");
    var rewind = config.getDuration("plaza.projections.restart-rewind");
    if (delay.isNegative() || delay.compareTo(rewind) >= 0) {
      throw new IllegalArgumentException("plaza.ledger.transfers.pending-row-delay (" + delay + ") must be at least 0"
          + " and less than plaza.projections.restart-rewind (" + rewind + ")");
    }
    return delay;
  }
}
