package io.plaza.platform;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/** A token bucket per user on this node (bucket4j); idle, full buckets are dropped by {@link #evictIdle()}. */
public final class RateLimiter {

  private final long burst;
  private final long perSecond;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  public RateLimiter(long perSecond, long burst) {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Zero when the request may go ahead, else how long (rounded up to whole seconds, at least 1) to wait. */
  public long secondsToWait(String userId) {
    var probe = buckets.computeIfAbsent(userId, id -> newBucket()).tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) return 0;
    return Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
  }

  /** A full bucket is the same as a new one: forget it so memory follows active users only. */
  public void evictIdle() {
    buckets.entrySet().removeIf(e -> e.getValue().getAvailableTokens() >= burst);
  }

  private Bucket newBucket() {
    return Bucket.builder()
        .addLimit(Bandwidth.builder().capacity(burst).refillGreedy(perSecond, Duration.ofSeconds(1)).build())
        .build();
  }
}
