package io.plaza.timeline;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;

/**
 * What this node has read of users' last activity (`timeline_users`), kept to spare the reads that decide whom a post
 * is pushed to and whether a reader's timeline must be rebuilt. Last activity only moves forward, so a value read
 * earlier is a lower bound of today's: when it already answers the question (the user is active), the user is not
 * read again. Only values read from Cassandra are kept, never a guess: a guessed activity could skip a rebuild whose
 * posts the fan-out never pushed. Size-bounded; an evicted user is simply read again.
 */
public final class KnownActivity {

  private final FollowsRepository follows;
  private final Cache<String, Instant> lowerBounds;

  public KnownActivity(FollowsRepository follows, long maxUsers) {
    this.follows = follows;
    this.lowerBounds = Caffeine.newBuilder().maximumSize(maxUsers).build();
  }

  /**
   * When each of {@code users} was last active, as far as it matters: a user whose known activity already satisfies
   * {@code enough} answers from memory, the others are read (users never active are absent from the answer).
   */
  public CompletionStage<Map<String, Instant>> lastActive(Collection<String> users, Predicate<Instant> enough) {
    return lastActive(users, enough, follows);
  }

  /** The same, reading through {@code reader} (the same table, counted for the caller's read path). */
  public CompletionStage<Map<String, Instant>> lastActive(Collection<String> users, Predicate<Instant> enough,
      FollowsRepository reader) {
    var answer = new HashMap<String, Instant>();
    var unknown = new ArrayList<String>();
    for (var user : users) {
      var known = lowerBounds.getIfPresent(user);
      if (known != null && enough.test(known)) answer.put(user, known);
      else unknown.add(user);
    }
    if (unknown.isEmpty()) return CompletableFuture.completedFuture(answer);
    return reader.lastActive(unknown).thenApply(read -> {
      read.forEach((user, at) -> lowerBounds.asMap().merge(user, at, (a, b) -> a.isAfter(b) ? a : b));
      answer.putAll(read);
      return answer;
    });
  }
}
