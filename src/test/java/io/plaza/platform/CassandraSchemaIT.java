package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.datastax.oss.driver.api.core.CqlSession;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * On a real Cassandra: a node creating the schema in a fresh keyspace runs every statement; on a keyspace that has it
 * all (every later node start, every node of a rolling upgrade) the driver's schema metadata shows each statement
 * applied and none runs.
 */
class CassandraSchemaIT {

  @Test
  void everyStatementRunsOnAFreshKeyspaceAndNoneOnceTheSchemaIsThere() throws Exception {
    var keyspace = TestNodes.KEYSPACE + "_schema";
    var config = TestNodes.config(keyspace, TestNodes.ACCOUNTS_TOPIC, TestNodes.CASSANDRA_PORT, TestNodes.KAFKA_PORT);
    var statements = CassandraSchema.statements(config);
    try (var session = CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", TestNodes.CASSANDRA_PORT))
        .withLocalDatacenter("datacenter1").build()) {
      try {
        assertEquals(statements.size(), statements.stream()
                .filter(cql -> !CassandraSchema.alreadyApplied(session.getMetadata(), cql)).count(),
            "nothing of a fresh keyspace exists yet");

        CassandraSchema.create(session, config).toCompletableFuture().get(5, TimeUnit.MINUTES);

        var metadata = session.getMetadata();
        for (var cql : statements) assertTrue(CassandraSchema.alreadyApplied(metadata, cql), cql);
        assertFalse(CassandraSchema.alreadyApplied(metadata,
            "ALTER TABLE " + keyspace + ".balances ADD not_there_yet bigint"), "a column still to add");
        assertFalse(CassandraSchema.alreadyApplied(metadata,
            "CREATE TABLE IF NOT EXISTS " + keyspace + ".not_there_yet (id text PRIMARY KEY)"), "a table still to add");
      } finally {
        session.execute("DROP KEYSPACE IF EXISTS " + keyspace);
      }
    }
  }

  /** What the Kubernetes schema Job runs: the image's CassandraSchema --apply, configured by environment only. */
  @Test
  void theSchemaJobCommandAppliesEverythingToTheConfiguredKeyspaceAndExitsZero() throws Exception {
    var keyspace = TestNodes.KEYSPACE + "_job";
    var javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var builder = new ProcessBuilder(javaBin, "-cp", NodeProcess.classpath(), "io.plaza.platform.CassandraSchema",
        "--apply").redirectErrorStream(true);
    builder.environment().put("CASSANDRA_CONTACT_POINTS", "127.0.0.1:" + TestNodes.CASSANDRA_PORT);
    builder.environment().put("PLAZA_KEYSPACE", keyspace);
    try (var session = CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", TestNodes.CASSANDRA_PORT))
        .withLocalDatacenter("datacenter1").build()) {
      try {
        var process = builder.start();
        var output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(process.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("schema applied to keyspace " + keyspace), output);
        session.refreshSchema();
        var config = TestNodes.config(keyspace, TestNodes.ACCOUNTS_TOPIC, TestNodes.CASSANDRA_PORT,
            TestNodes.KAFKA_PORT);
        for (var cql : CassandraSchema.statements(config)) {
          assertTrue(CassandraSchema.alreadyApplied(session.getMetadata(), cql), cql);
        }
      } finally {
        session.execute("DROP KEYSPACE IF EXISTS " + keyspace);
      }
    }
  }
}
