package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Verified tokens are remembered for speed, never past their expiry, and only the exact token string is. */
class JwtAuthTest {

  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-07T12:00:00Z"));
  private final Clock clock = new Clock() {
    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  };
  private final JwtAuth auth = new JwtAuth("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8),
      "plaza-test", Duration.ofSeconds(5), null, clock);

  @Test
  void aRememberedTokenStillExpires() {
    var token = auth.mint("alice", Duration.ofMinutes(1));
    assertEquals(new JwtAuth.Authenticated("alice"), auth.verify(token));
    now.set(now.get().plusSeconds(64)); // within exp + the 5 s clock skew
    assertEquals(new JwtAuth.Authenticated("alice"), auth.verify(token));
    now.set(now.get().plusSeconds(2));
    assertEquals(new JwtAuth.Refused("token expired"), auth.verify(token));
    assertEquals(new JwtAuth.Refused("token expired"), auth.verify(token), "and stays refused");
  }

  @Test
  void aTokenWithAnotherSignatureIsNotTheRememberedOne() {
    var token = auth.mint("bob", Duration.ofMinutes(1));
    assertEquals(new JwtAuth.Authenticated("bob"), auth.verify(token));
    var forged = token.substring(0, token.lastIndexOf('.') + 1) + "AAAA" + token.substring(token.lastIndexOf('.') + 5);
    assertInstanceOf(JwtAuth.Refused.class, auth.verify(forged));
    var otherKey = new JwtAuth("another-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.UTF_8),
        "plaza-test", Duration.ofSeconds(5), null, clock);
    assertEquals(new JwtAuth.Refused("token signature is invalid"), otherKey.verify(token));
  }
}
