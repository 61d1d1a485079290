package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RateLimiterTest {

  @Test
  void allowsTheBurstThenAsksToWaitWholeSeconds() {
    var limiter = new RateLimiter(1, 3);
    for (int i = 0; i < 3; i++) assertEquals(0, limiter.secondsToWait("alice"));
    long wait = limiter.secondsToWait("alice");
    assertTrue(wait >= 1 && wait <= 2, "wait " + wait);
  }

  @Test
  void limitsEachUserSeparately() {
    var limiter = new RateLimiter(1, 1);
    assertEquals(0, limiter.secondsToWait("alice"));
    assertTrue(limiter.secondsToWait("alice") > 0);
    assertEquals(0, limiter.secondsToWait("bob"));
  }
}
