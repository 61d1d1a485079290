package io.plaza.cluster;

import io.plaza.platform.ApiClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a well-behaved client of a cluster does: spreads requests over every node it knows, and when a node does not
 * answer (connection refused or reset) or answers 5xx, tries again on the next node with the SAME request (same
 * Idempotency-Key or client message id), so that a retry can never apply twice. Counts requests and those that
 * needed a retry.
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

  FailoverClient(List<Integer> ports, Duration giveUpAfter) {
    this.ports = ports;
    this.giveUpAfter = giveUpAfter;
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
        last = clients.computeIfAbsent(port, ApiClient::new).send(method, path, token, body, headers);
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

  /** Round robin over the nodes not known to be down (all of them when every node looks down). */
  private int pick() {
    long now = System.nanoTime();
    for (int tries = 0; tries < ports.size(); tries++) {
      int port = ports.get(Math.floorMod(next.getAndIncrement(), ports.size()));
      if (downUntil.getOrDefault(port, 0L) <= now) return port;
    }
    return ports.get(Math.floorMod(next.getAndIncrement(), ports.size()));
  }

  ApiClient any() {
    return clients.computeIfAbsent(pick(), ApiClient::new);
  }
}
