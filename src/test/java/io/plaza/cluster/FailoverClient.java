package io.plaza.cluster;

import io.plaza.platform.ApiClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client behind a load balancer, as a cluster is used: requests go round robin to the nodes whose /ready answers
 * 200 (polled every 500 ms, as a Kubernetes Service follows its pods' readiness), and when a node does not answer
 * (connection refused or reset) or answers 5xx, the SAME request (same Idempotency-Key or client message id) is tried
 * again on the next node, so that a retry can never apply twice. Counts requests and those that needed a retry.
 */
final class FailoverClient {

  /** The final answer and how many attempts it took. */
  record Result(ApiClient.Response response, int attempts) {}

  private final List<Integer> ports;
  private final Map<Integer, ApiClient> clients = new ConcurrentHashMap<>();
  private final Map<Integer, Long> downUntil = new ConcurrentHashMap<>();
  private final AtomicInteger next = new AtomicInteger();
  private final Duration giveUpAfter;
  final AtomicLong requests = new AtomicLong();
  final AtomicLong retried = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  /** When the last request that needed a retry finally got its answer (System.nanoTime), 0 if none did. */
  final AtomicLong lastRetriedAnswerAt = new AtomicLong();

  private volatile List<Integer> ready;
  private final Thread readinessPoller;

  /** {@code isReady.test(i)}: does node i (its API on {@code ports.get(i)}) answer /ready with 200. */
  FailoverClient(List<Integer> ports, java.util.function.IntPredicate isReady, Duration giveUpAfter) {
    this.ports = ports;
    this.ready = ports;
    this.giveUpAfter = giveUpAfter;
    readinessPoller = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        var now = java.util.stream.IntStream.range(0, ports.size()).filter(isReady).mapToObj(ports::get).toList();
        ready = now.isEmpty() ? ports : now;
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "load-balancer-readiness");
    readinessPoller.setDaemon(true);
    readinessPoller.start();
  }

  void close() {
    readinessPoller.interrupt();
  }

  Result send(String method, String path, String token, String body, Map<String, String> headers) {
    requests.incrementAndGet();
    long deadline = System.nanoTime() + giveUpAfter.toNanos();
    int attempts = 0;
    ApiClient.Response last = null;
    while (System.nanoTime() < deadline) {
      int port = pick();
      attempts++;
      try {
        last = clients.computeIfAbsent(port, FailoverClient::client).send(method, path, token, body, headers);
        if (last.status() < 500) {
          if (attempts > 1) {
            retried.incrementAndGet();
            lastRetriedAnswerAt.set(System.nanoTime());
          }
          return new Result(last, attempts);
        }
      } catch (AssertionError unreachable) {
        // Connection refused or reset: that node is gone for now; the others get the retries.
        downUntil.put(port, System.nanoTime() + Duration.ofSeconds(5).toNanos());
      }
      LocalCluster.sleep(Math.min(1_000, 100L * attempts));
    }
    failed.incrementAndGet();
    throw new AssertionError(method + " " + path + " got no answer within " + giveUpAfter + " (" + attempts
        + " attempts, last " + last + ")");
  }

  /** Round robin over the ready nodes not seen down just now (all ready ones when each of them looks down). */
  private int pick() {
    long now = System.nanoTime();
    var candidates = ready;
    for (int tries = 0; tries < candidates.size(); tries++) {
      int port = candidates.get(Math.floorMod(next.getAndIncrement(), candidates.size()));
      if (downUntil.getOrDefault(port, 0L) <= now) return port;
    }
    return candidates.get(Math.floorMod(next.getAndIncrement(), candidates.size()));
  }

  /** Unchecked against openapi.yaml: in the upgrade test the nodes answer as their own release does. */
  private static ApiClient client(int port) {
    return new ApiClient(port, false);
  }

  ApiClient any() {
    return clients.computeIfAbsent(pick(), FailoverClient::client);
  }
}
