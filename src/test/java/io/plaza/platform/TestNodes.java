package io.plaza.platform;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * Plaza nodes for integration tests, on the real Cassandra and Kafka that the build starts (bin/infra). Each test
 * run gets its own keyspace and topics, named after the run id the build passes in.
 */
public final class TestNodes {

  public static final String RUN_ID = System.getProperty("plaza.it.run-id", String.valueOf(System.currentTimeMillis()));
  public static final int CASSANDRA_PORT = Integer.getInteger("plaza.it.cassandra.port", 9042);
  public static final int KAFKA_PORT = Integer.getInteger("plaza.it.kafka.port", 9092);
  public static final String KEYSPACE = "plaza_it_" + RUN_ID;
  public static final String ACCOUNTS_TOPIC = "it-" + RUN_ID + ".plaza.ledger.accounts";
  public static final String TRANSFERS_TOPIC = "it-" + RUN_ID + ".plaza.ledger.transfers";
  public static final String CHAT_TOPIC = "it-" + RUN_ID + ".plaza.chat.messages";
  public static final String TIMELINE_TOPIC = "it-" + RUN_ID + ".plaza.timeline.posts";
  public static final String RIDES_TOPIC = "it-" + RUN_ID + ".plaza.dispatch.rides";

  private TestNodes() {}

  public static Config config() {
    return config(KEYSPACE, ACCOUNTS_TOPIC, CASSANDRA_PORT, KAFKA_PORT);
  }

  /** The test node's configuration with {@code extra} (HOCON, resolved with the rest) on top. */
  public static Config config(String extra) {
    return config(KEYSPACE, ACCOUNTS_TOPIC, CASSANDRA_PORT, KAFKA_PORT, extra);
  }

  public static Config config(String keyspace, String accountsTopic, int cassandraPort, int kafkaPort) {
    return config(keyspace, accountsTopic, cassandraPort, kafkaPort, "");
  }

  /** A dev-mode node on ephemeral ports against the given servers, keyspace and topic. */
  public static Config config(String keyspace, String accountsTopic, int cassandraPort, int kafkaPort,
      String extra) {
    // Overrides go in before resolution, so ${plaza.cassandra.keyspace} and friends pick them up. One client
    // drives many users' requests here: the per-user rate limit (unit-tested in RateLimiterTest) is not in the way.
    return ConfigFactory.load(ConfigFactory.parseString(extra).withFallback(ConfigFactory.parseString("""
            plaza.dev-mode = on
            plaza.auth.admin-users = "admin"
            plaza.cassandra.keyspace = "%s"
            plaza.ledger.accounts-topic = "%s"
            plaza.ledger.transfers-topic = "%s"
            plaza.chat.messages-topic = "%s"
            plaza.timeline.posts-topic = "%s"
            plaza.dispatch.rides-topic = "%s"
            # Small enough to make a celebrity in a test; the policy itself is unit-tested at its default.
            plaza.timeline.celebrity-threshold = 3
            # Short enough to watch an offer time out and a driver go stale in a test.
            plaza.dispatch.offer-timeout = 4s
            plaza.dispatch.driver-stale-after = 5s
            # At most half of driver-stale-after (the node refuses to start otherwise).
            plaza.dispatch.announce-every = 2s
            plaza.kafka.bootstrap-servers = "127.0.0.1:%d"
            plaza.http.interface = "127.0.0.1"
            plaza.http.port = 0
            # A fresh node's first asks wait for shard allocation while every projection starts on 2 shared cores:
            # in tests that is not an outage.
            plaza.http.ask-timeout = 15s
            plaza.http.rate-limit.requests-per-second = 1000000
            plaza.http.rate-limit.burst = 1000000
            pekko.management.http.port = 0
            pekko.remote.artery.canonical.port = 0
            datastax-java-driver.basic.contact-points = ["127.0.0.1:%d"]
            """.formatted(keyspace, accountsTopic, accountsTopic.replace("accounts", "transfers"),
            accountsTopic.replace("ledger.accounts", "chat.messages"),
            accountsTopic.replace("ledger.accounts", "timeline.posts"),
            accountsTopic.replace("ledger.accounts", "dispatch.rides"), kafkaPort, cassandraPort)))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  public static PlazaNode start() {
    return PlazaNode.start(config());
  }
}
