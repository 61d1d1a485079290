package io.plaza.platform;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Plaza node in a child JVM (io.plaza.Main with the test classpath), for tests that must kill a node abruptly:
 * {@link #kill()} is SIGKILL, so no coordinated shutdown, no handoff, nothing flushed.
 */
public final class NodeProcess implements AutoCloseable {

  private final Process process;
  private final Ports ports;

  private NodeProcess(Process process, Ports ports) {
    this.process = process;
    this.ports = ports;
  }

  /** Starts a dev-mode node on the test keyspace and topics with extra settings, and waits until it serves HTTP. */
  public static NodeProcess start(Map<String, String> settings, Path log) {
    return start(Ports.free(), settings, log, classpath());
  }

  /** The ports a node listens on; a cluster test fixes them so that a node restarts where its peers expect it. */
  public record Ports(int http, int management, int remoting) {
    public static Ports free() {
      return new Ports(freePort(), freePort(), freePort());
    }
  }

  /**
   * Starts a node on {@code ports} from {@code classpath} (another build's, for an upgrade test) with {@code settings}
   * over the test defaults, and waits until it serves HTTP.
   */
  public static NodeProcess start(Ports ports, Map<String, String> settings, Path log, String classpath) {
    var node = launch(ports, settings, log, classpath);
    // Three nodes, Cassandra, Kafka and the traffic share 2 cores in the cluster tests: a start may take minutes.
    node.awaitUp(Duration.ofSeconds(180));
    return node;
  }

  /** Starts a node process and returns at once: for a node expected to stop on its own. */
  public static NodeProcess launch(Ports ports, Map<String, String> settings, Path log, String classpath) {
    var props = new java.util.LinkedHashMap<String, String>();
    props.put("plaza.dev-mode", "on");
    props.put("plaza.auth.admin-users", "admin");
    props.put("plaza.cassandra.keyspace", TestNodes.KEYSPACE);
    props.put("plaza.ledger.accounts-topic", TestNodes.ACCOUNTS_TOPIC);
    props.put("plaza.ledger.transfers-topic", TestNodes.TRANSFERS_TOPIC);
    props.put("plaza.chat.messages-topic", TestNodes.CHAT_TOPIC);
    props.put("plaza.timeline.posts-topic", TestNodes.TIMELINE_TOPIC);
    props.put("plaza.dispatch.rides-topic", TestNodes.RIDES_TOPIC);
    props.put("plaza.kafka.bootstrap-servers", "127.0.0.1:" + TestNodes.KAFKA_PORT);
    props.put("datastax-java-driver.basic.contact-points.0", "127.0.0.1:" + TestNodes.CASSANDRA_PORT);
    props.put("plaza.http.interface", "127.0.0.1");
    props.put("plaza.http.port", String.valueOf(ports.http()));
    props.put("pekko.management.http.port", String.valueOf(ports.management()));
    props.put("pekko.remote.artery.canonical.port", String.valueOf(ports.remoting()));
    props.putAll(settings);
    var command = new ArrayList<String>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
    props.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(List.of("-cp", classpath, "io.plaza.Main"));
    try {
      var process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      return new NodeProcess(process, ports);
    } catch (IOException e) {
      throw new AssertionError("cannot start a node process", e);
    }
  }

  /** Failsafe runs tests from a manifest-only jar; the real classpath is in this property. */
  public static String classpath() {
    var cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
  }

  private void awaitUp(Duration within) {
    var api = new ApiClient(ports.http());
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) throw new AssertionError("the node process exited during startup");
      try {
        if (api.get("/v1/openapi.yaml", null).status() == 200) return;
      } catch (AssertionError notYet) {
        // still starting
      }
      sleep(500);
    }
    kill();
    throw new AssertionError("the node process did not serve HTTP within " + within);
  }

  public int httpPort() {
    return ports.http();
  }

  public Ports ports() {
    return ports;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, as Kubernetes stops a pod: coordinated shutdown hands off shards and leaves the cluster. */
  public void stop(Duration within) {
    process.destroy();
    try {
      if (!process.waitFor(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The process's exit code once it has ended by itself within {@code within}; an assertion error if it has not. */
  public int awaitExit(Duration within) {
    try {
      if (!process.waitFor(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the node process still runs after " + within);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    return process.exitValue();
  }

  /** SIGKILL, as a crashed machine. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) kill();
  }

  private static int freePort() {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
