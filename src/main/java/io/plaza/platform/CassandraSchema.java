package io.plaza.platform;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import com.datastax.oss.driver.api.core.metadata.Metadata;
import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the keyspace and every table from the checked-in CQL, one statement at a time (Cassandra handles
 * concurrent schema changes badly). Run by a dev/test node at startup, or printed by {@code bin/plaza schema}.
 */
public final class CassandraSchema {

  private static final Logger log = LoggerFactory.getLogger(CassandraSchema.class);
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");

  /** Platform tables first, then each domain's read models (under projections/ in the repository). */
  public static final List<String> RESOURCES = List.of(
      "cql/journal.cql",
      "cql/projection-offsets.cql",
      "cql/projections/balances.cql",
      "cql/projections/transfers.cql",
      "cql/projections/journal.cql",
      "cql/projections/chat_history.cql",
      "cql/projections/chat_inbox.cql",
      "cql/projections/user_posts.cql",
      "cql/projections/follows.cql",
      "cql/projections/home_timeline.cql",
      "cql/projections/trips.cql");

  private CassandraSchema() {}

  public static List<String> statements(Config config) {
    var keyspace = config.getString("plaza.cassandra.keyspace");
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("plaza.cassandra.keyspace '" + keyspace + "' is not a valid keyspace name");
    }
    var all = new ArrayList<String>();
    all.add("CREATE KEYSPACE IF NOT EXISTS " + keyspace + " WITH replication = "
        + config.getString("plaza.cassandra.replication"));
    for (var resource : RESOURCES) {
      var text = read(resource).replaceAll("(?m)^\\s*--.*$", "").replace("${keyspace}", keyspace);
      Arrays.stream(text.split(";")).map(String::strip).filter(s -> !s.isEmpty()).forEach(all::add);
    }
    return all;
  }

  public static CompletionStage<Done> create(CqlSession session, Config config) {
    CompletionStage<Done> chain = CompletableFuture.completedFuture(Done.getInstance());
    // Every DDL statement is a round of schema agreement even when IF NOT EXISTS makes it a no-op: on a loaded
    // Cassandra 30 of them held a joining node for 40 s. Statements the schema already shows are skipped.
    var pending = statements(config).stream().filter(cql -> !alreadyApplied(session.getMetadata(), cql)).toList();
    for (var cql : pending) {
      chain = chain.thenCompose(d -> session.executeAsync(
              SimpleStatement.newInstance(cql).setExecutionProfileName("plaza-ddl"))
          .thenApply(rs -> Done.getInstance())
          .exceptionally(e -> {
            // Columns added later are in CREATE TABLE for new keyspaces and in ALTER TABLE ADD for old ones.
            var message = String.valueOf(e.getMessage());
            if (cql.startsWith("ALTER TABLE") && (message.contains("already exists")
                || message.contains("conflicts with an existing column"))) {
              return Done.getInstance();
            }
            throw e instanceof java.util.concurrent.CompletionException ce ? ce
                : new java.util.concurrent.CompletionException(e);
          }));
    }
    return chain.thenApply(d -> {
      log.info("Cassandra schema ready in keyspace {}", config.getString("plaza.cassandra.keyspace"));
      return d;
    });
  }

  private static final Pattern CREATE_KEYSPACE = Pattern.compile("CREATE KEYSPACE IF NOT EXISTS (\\w+) .*",
      Pattern.DOTALL);
  private static final Pattern CREATE_TABLE = Pattern.compile("CREATE TABLE IF NOT EXISTS (\\w+)\\.(\\w+)\\b.*",
      Pattern.DOTALL);
  private static final Pattern CREATE_INDEX = Pattern.compile(
      "CREATE (?:CUSTOM )?INDEX IF NOT EXISTS (\\w+) ON (\\w+)\\.(\\w+)\\b.*", Pattern.DOTALL);
  private static final Pattern ADD_COLUMN = Pattern.compile("ALTER TABLE (\\w+)\\.(\\w+) ADD (\\w+) .*",
      Pattern.DOTALL);

  /** Whether the driver's schema metadata already shows what {@code cql} would create (a keyspace, table, column). */
  static boolean alreadyApplied(Metadata metadata, String cql) {
    var keyspace = CREATE_KEYSPACE.matcher(cql);
    if (keyspace.matches()) return metadata.getKeyspace(keyspace.group(1)).isPresent();
    var table = CREATE_TABLE.matcher(cql);
    if (table.matches()) {
      return metadata.getKeyspace(table.group(1)).flatMap(k -> k.getTable(table.group(2))).isPresent();
    }
    var index = CREATE_INDEX.matcher(cql);
    if (index.matches()) {
      return metadata.getKeyspace(index.group(2)).flatMap(k -> k.getTable(index.group(3)))
          .map(t -> t.getIndexes().containsKey(com.datastax.oss.driver.api.core.CqlIdentifier.fromCql(index.group(1))))
          .orElse(false);
    }
    var column = ADD_COLUMN.matcher(cql);
    if (column.matches()) {
      return metadata.getKeyspace(column.group(1)).flatMap(k -> k.getTable(column.group(2)))
          .flatMap(t -> t.getColumn(column.group(3))).isPresent();
    }
    return false;
  }

  private static String read(String resource) {
    try (InputStream in = CassandraSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException("missing schema resource " + resource);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@code bin/plaza schema}: prints the CQL for the configured keyspace, for cqlsh in production. With
   * {@code --apply} it applies it to the configured Cassandra (CASSANDRA_CONTACT_POINTS, PLAZA_KEYSPACE) and exits 0,
   * or 1 when it could not: what the Kubernetes Job runs before the nodes, which do not create the schema there.
   */
  public static void main(String[] args) {
    if (args.length == 0) {
      for (var cql : statements(PlazaConfig.load())) System.out.println(cql + ";\n");
      return;
    }
    if (!args[0].equals("--apply")) {
      System.err.println("usage: CassandraSchema [--apply]");
      System.exit(2);
    }
    var config = PlazaConfig.load(com.typesafe.config.ConfigFactory.parseString("""
        pekko.actor.provider = local
        pekko.loglevel = WARNING
        pekko.persistence.cassandra.events-by-tag.pubsub-notification = off
        """));
    var system = org.apache.pekko.actor.typed.ActorSystem.create(
        org.apache.pekko.actor.typed.javadsl.Behaviors.empty(), "plaza-schema", config);
    int exit = 0;
    try {
      var session = Cassandra.underlying(system, java.time.Duration.ofSeconds(60));
      create(session, config).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.MINUTES);
      System.out.println("schema applied to keyspace " + config.getString("plaza.cassandra.keyspace"));
    } catch (Exception e) {
      System.err.println("plaza schema --apply: could not apply the schema: " + e);
      exit = 1;
    } finally {
      system.terminate();
    }
    System.exit(exit);
  }
}
