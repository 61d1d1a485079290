package io.plaza.timeline;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Who gets a post pushed into their home timeline: nobody for a celebrity author (at or above the threshold: merged at
 * read time instead); otherwise every follower active within {@code inactiveAfter} (the others are rebuilt by pull
 * when they come back).
 */
public record FanoutPolicy(int celebrityThreshold, Duration inactiveAfter) {

  public static FanoutPolicy fromConfig(com.typesafe.config.Config timeline) {
    return new FanoutPolicy(timeline.getInt("celebrity-threshold"), timeline.getDuration("inactive-after"));
  }

  public boolean fansOut(int authorFollowers) {
    return authorFollowers < celebrityThreshold;
  }

  public boolean isActive(Instant lastActive, Instant now) {
    return lastActive != null && lastActive.isAfter(now.minus(inactiveAfter));
  }

  /** The active ones among {@code followers}, given when each last read their home timeline. */
  public List<String> recipients(List<String> followers, Map<String, Instant> lastActive, Instant now) {
    return followers.stream().filter(f -> isActive(lastActive.get(f), now)).toList();
  }
}
