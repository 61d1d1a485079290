package io.plaza.bench;

import com.datastax.oss.driver.api.core.CqlSession;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What the load asked of Cassandra, table by table: the local read, range-read and write counts of the keyspace
 * from Cassandra's own metrics (the {@code system_views.local_*_latency} virtual tables). Unlike throughput on a
 * shared machine, these counts per request do not vary from run to run: they show what a design change saves.
 * A write is one partition update (a batch into one partition counts once).
 */
final class CassandraOps {

  private static final String[] KINDS = {"write", "read", "scan"};

  /** "write:messages" → count, for every table of the keyspace. */
  static Map<String, Long> counts(int port, String keyspace) {
    var counts = new HashMap<String, Long>();
    try (var session = CqlSession.builder().addContactPoint(new InetSocketAddress("127.0.0.1", port))
        .withLocalDatacenter("datacenter1").build()) {
      for (var kind : KINDS) {
        for (var row : session.execute("SELECT table_name, count FROM system_views.local_" + kind
            + "_latency WHERE keyspace_name = ?", keyspace)) {
          counts.put(kind + ":" + row.getString("table_name"), row.getLong("count"));
        }
      }
    }
    return counts;
  }

  /** E.g. "writes 9.1 (messages 4.0, tag_views 2.1, …); reads 3.0 (…); range reads 0.4 (…)" per request. */
  static String perRequest(Map<String, Long> before, Map<String, Long> after, long requests) {
    var parts = new StringJoiner("; ");
    for (var kind : KINDS) {
      var tables = new HashMap<String, Long>();
      after.forEach((key, count) -> {
        if (!key.startsWith(kind + ":")) return;
        long delta = count - before.getOrDefault(key, 0L);
        if (delta > 0) tables.put(key.substring(kind.length() + 1), delta);
      });
      long total = tables.values().stream().mapToLong(Long::longValue).sum();
      var byTable = new StringJoiner(", ");
      tables.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .forEach(e -> byTable.add(
              String.format(Locale.ROOT, "%s %.2f", e.getKey(), (double) e.getValue() / requests)));
      var label = switch (kind) {
        case "write" -> "writes";
        case "read" -> "reads";
        default -> "range reads";
      };
      parts.add(String.format(Locale.ROOT, "%s %.2f%s", label, (double) total / requests,
          total == 0 ? "" : " (" + byTable + ")"));
    }
    return parts.toString();
  }

  private CassandraOps() {}
}
