package io.plaza.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.Json;
import io.plaza.platform.NodeProcess;
import io.plaza.platform.TestNodes;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A Plaza cluster of real node processes (child JVMs) on this machine, on the build's Cassandra and Kafka, with a
 * keyspace and topics of its own: killing a node is SIGKILL of its process, nothing in common with the test's JVM.
 * Node i keeps its ports across restarts, so it rejoins where its peers expect it; nodes 0 and 1 are the seeds.
 */
final class LocalCluster implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

  final String keyspace;
  private final List<NodeProcess.Ports> ports = new ArrayList<>();
  private final NodeProcess[] nodes;
  private final Map<String, String> settings = new HashMap<>();
  private final Path logs;

  LocalCluster(String name, int size, Map<String, String> extra) {
    this.keyspace = TestNodes.KEYSPACE + "_" + name;
    this.nodes = new NodeProcess[size];
    this.logs = Path.of(System.getProperty("plaza.it.infra-dir", "target"), "cluster-" + name);
    for (int i = 0; i < size; i++) ports.add(NodeProcess.Ports.free());
    var topic = "it-" + TestNodes.RUN_ID + "-" + name;
    settings.put("plaza.cassandra.keyspace", keyspace);
    settings.put("plaza.ledger.accounts-topic", topic + ".plaza.ledger.accounts");
    settings.put("plaza.ledger.transfers-topic", topic + ".plaza.ledger.transfers");
    settings.put("plaza.chat.messages-topic", topic + ".plaza.chat.messages");
    settings.put("plaza.timeline.posts-topic", topic + ".plaza.timeline.posts");
    settings.put("plaza.dispatch.rides-topic", topic + ".plaza.dispatch.rides");
    settings.put("plaza.cluster.join-self", "off");
    settings.put("pekko.cluster.seed-nodes.0", "pekko://Plaza@127.0.0.1:" + ports.get(0).remoting());
    settings.put("pekko.cluster.seed-nodes.1", "pekko://Plaza@127.0.0.1:" + ports.get(1).remoting());
    // One test client drives many users: the per-user limit is unit-tested elsewhere.
    settings.put("plaza.http.rate-limit.requests-per-second", "1000000");
    settings.put("plaza.http.rate-limit.burst", "1000000");
    settings.putAll(extra);
  }

  /**
   * Starts every node from {@code classpath}: the first alone (it creates the keyspace and tables; concurrent schema
   * changes from several nodes can disagree in Cassandra), then the others together.
   */
  void start(String classpath) {
    start(0, classpath);
    var rest = new ArrayList<CompletableFuture<Void>>();
    for (int i = 1; i < nodes.length; i++) {
      int n = i;
      rest.add(CompletableFuture.runAsync(() -> start(n, classpath)));
    }
    rest.forEach(CompletableFuture::join);
    awaitUp(nodes.length, Duration.ofSeconds(120));
  }

  void start(int i, String classpath) {
    try {
      Files.createDirectories(logs);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    nodes[i] = NodeProcess.start(ports.get(i), seedsFor(i), logs.resolve("node" + i + ".log"), classpath);
    awaitReady(i, Duration.ofSeconds(180));
  }

  /**
   * The settings of node i with its seed nodes: at the first start nodes 0 and 1; when the cluster already runs,
   * the running nodes only. A restarted first seed given itself first would form a cluster of its own (an island)
   * if the others do not answer within seed-node-timeout, as a busy machine may not; operators list live nodes.
   */
  private Map<String, String> seedsFor(int i) {
    var running = java.util.stream.IntStream.range(0, nodes.length).filter(n -> n != i && isRunning(n)).boxed()
        .toList();
    if (running.isEmpty()) return settings;
    var withSeeds = new HashMap<>(settings);
    withSeeds.remove("pekko.cluster.seed-nodes.1");
    for (int s = 0; s < Math.min(2, running.size()); s++) {
      withSeeds.put("pekko.cluster.seed-nodes." + s, "pekko://Plaza@127.0.0.1:" + ports.get(running.get(s)).remoting());
    }
    return withSeeds;
  }

  /** SIGKILL: no coordinated shutdown, no handoff, no leaving; the others must notice and down it. */
  void kill(int i) {
    nodes[i].kill();
    nodes[i] = null;
  }

  /** SIGTERM: coordinated shutdown (unbind, drain, hand off shards, leave). */
  void stop(int i) {
    nodes[i].stop(Duration.ofSeconds(60));
    nodes[i] = null;
  }

  boolean isRunning(int i) {
    return nodes[i] != null && nodes[i].isAlive();
  }

  int size() {
    return nodes.length;
  }

  /** The API ports of every node, running or not: clients know all addresses and find out which answer. */
  List<Integer> httpPorts() {
    return ports.stream().map(NodeProcess.Ports::http).toList();
  }

  int httpPort(int i) {
    return ports.get(i).http();
  }

  /** The management API's view from node i: how many members are Up, and how many unreachable. */
  int[] membership(int i) {
    var members = management(i, "/cluster/members");
    if (members == null) return new int[] {0, 0};
    int up = 0;
    for (var m : members.path("members")) if ("Up".equals(m.path("status").asText())) up++;
    return new int[] {up, members.path("unreachable").size()};
  }

  /** How many shards of entity type {@code typeName} node i hosts (Pekko Management's /cluster/shards). */
  int shardsHosted(int i, String typeName) {
    var details = management(i, "/cluster/shards/" + typeName);
    return details == null ? 0 : details.path("regions").size();
  }

  /** Waits until a running node sees {@code up} members Up and none unreachable. */
  void awaitUp(int up, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    int[] seen = null;
    while (System.nanoTime() < deadline) {
      for (int i = 0; i < nodes.length; i++) {
        if (!isRunning(i)) continue;
        seen = membership(i);
        if (seen[0] == up && seen[1] == 0) return;
        break;
      }
      sleep(250);
    }
    throw new AssertionError("cluster did not reach " + up + " members Up within " + within + ": "
        + (seen == null ? "no node running" : seen[0] + " up, " + seen[1] + " unreachable"));
  }

  /** Waits for node i's /ready (cluster member, shard regions registered, Cassandra answering). */
  void awaitReady(int i, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (status(i, "/ready") == 200) return;
      if (!isRunning(i)) throw new AssertionError("node " + i + " exited; see " + logs.resolve("node" + i + ".log"));
      sleep(250);
    }
    throw new AssertionError("node " + i + " not ready within " + within);
  }

  int status(int i, String path) {
    try {
      return HTTP.send(request(i, path), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private JsonNode management(int i, String path) {
    try {
      var response = HTTP.send(request(i, path), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? Json.MAPPER.readTree(response.body()) : null;
    } catch (Exception e) {
      return null;
    }
  }

  private HttpRequest request(int i, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports.get(i).management() + path))
        .timeout(Duration.ofSeconds(5)).build();
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < nodes.length; i++) {
      if (nodes[i] != null) nodes[i].kill();
    }
  }
}
