package io.plaza.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The parts of bin/bench's summary that read other programs' output: Gatling's report and Prometheus scrapes. */
class LoadSuiteTest {

  private static String gatlingRow(String name, String... cells) {
    var row = new StringBuilder("<tr id=\"req_x\"><td class=\"total col-1\"><span class=\"ellipsed-name\">" + name
        + "</span></a><span class=\"value\" style=\"display:none;\">0</span></td>\n");
    for (int i = 0; i < cells.length; i++) {
      row.append("  <td class=\"value total col-").append(i + 2).append("\">").append(cells[i]).append("</td>\n");
    }
    return row.append("</tr>").toString();
  }

  @Test
  void readsEachRequestRowOfGatlingsStatisticsTable() {
    var html = gatlingRow("All Requests", "1,200", "1,190", "10", "0.8", "40", "1", "9", "20", "90", "200", "900",
        "30", "50")
        + gatlingRow("send &rarr; deliver (1:1)", "600", "590", "10", "1.7", "20.5", "3", "12", "25", "110", "240",
        "10,001", "35", "60");
    var rows = LoadSuite.requestRows("chat", html);
    assertEquals(2, rows.size());
    var deliver = rows.get(1);
    assertEquals("send → deliver (1:1)", deliver.request());
    assertEquals(600, deliver.total());
    assertEquals(10, deliver.ko());
    assertEquals(20.5, deliver.perSecond());
    assertEquals(12, deliver.p50());
    assertEquals(110, deliver.p95());
    assertEquals(240, deliver.p99());
    assertEquals(1200, rows.get(0).total());
  }

  @Test
  void projectionLagQuantilesComeFromTheBucketsThatGrewDuringTheRun() {
    var before = LoadSuite.parse("""
        # TYPE plaza_projection_lag_seconds histogram
        plaza_projection_lag_seconds_bucket{projection="balances",le="1.0"} 50.0
        plaza_projection_lag_seconds_bucket{projection="balances",le="2.0"} 50.0
        plaza_projection_lag_seconds_bucket{projection="balances",le="+Inf"} 50.0
        """);
    var after = LoadSuite.parse("""
        plaza_projection_lag_seconds_bucket{projection="balances",le="1.0"} 50.0
        plaza_projection_lag_seconds_bucket{projection="balances",le="2.0"} 130.0
        plaza_projection_lag_seconds_bucket{projection="balances",le="+Inf"} 150.0
        plaza_projection_lag_seconds_bucket{projection="chat-history",le="1.0"} 100.0
        plaza_projection_lag_seconds_bucket{projection="chat-history",le="2.0"} 100.0
        plaza_projection_lag_seconds_bucket{projection="chat-history",le="+Inf"} 100.0
        """);
    // During the run: 100 at ≤ 1 s (chat-history), 80 in (1, 2] s, 20 above 2 s, of 200.
    assertArrayEquals(new String[] {"1.00 s", "> 30 s"}, LoadSuite.lagQuantiles(before, after));
    var fewSlow = LoadSuite.parse(after.entrySet().stream()
        .map(e -> e.getKey() + " " + (e.getKey().contains("+Inf") && e.getKey().contains("balances") ? 130.0
            : e.getValue()))
        .reduce("", (a, b) -> a + b + "\n"));
    // Now 180 of 180 within 2 s: p99 lies in (1, 2] s, interpolated.
    assertEquals("1.98 s", LoadSuite.lagQuantiles(before, fewSlow)[1]);
  }

  @Test
  void deltasSumTheMatchingSeriesOfEveryNode() {
    var before = Map.of("plaza_http_responses_total{method=\"GET\",status=\"503\"}", 2.0);
    var after = Map.of("plaza_http_responses_total{method=\"GET\",status=\"503\"}", 5.0,
        "plaza_http_responses_total{method=\"POST\",status=\"500\"}", 1.0,
        "plaza_http_responses_total{method=\"GET\",status=\"200\"}", 99.0);
    assertEquals(4.0, LoadSuite.delta(before, after, "plaza_http_responses_total{", "status=\"5"));
  }

  @Test
  void cpuIsAttributedToTheProcessKindByItsCommandLine() {
    assertEquals("Cassandra", CpuSplit.kind("java -Xss256k org.apache.cassandra.service.CassandraDaemon"));
    assertEquals("Kafka", CpuSplit.kind("java -Xmx512m kafka.Kafka /x/server.properties"));
    assertEquals("Plaza", CpuSplit.kind("java -Xmx2g -jar target/plaza.jar"));
    assertEquals("Gatling", CpuSplit.kind("java -cp boot.jar Launcher -f /r/loadtests/pom.xml gatling:test"));
    assertEquals("other", CpuSplit.kind("/usr/bin/bash bin/bench"));
  }

  @Test
  void cassandraOperationsAreCountedPerRequestByKindAndTable() {
    var before = Map.of("write:messages", 100L, "write:tag_views", 50L, "read:messages", 7L);
    var after = Map.of("write:messages", 500L, "write:tag_views", 250L, "write:snapshots", 0L, "read:messages", 207L);
    assertEquals("writes 6.00 (messages 4.00, tag_views 2.00); reads 2.00 (messages 2.00); range reads 0.00",
        CassandraOps.perRequest(before, after, 100));
  }
}
