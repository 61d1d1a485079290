package io.plaza.timeline;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * The `follows` read model (projections/follows.cql): followers and following per user (paged by user id), each
 * user's counters and activity, and the set of celebrities.
 */
public interface FollowsRepository {

  /** One page of user ids in id order; {@code next} is the cursor of the following page, or null. */
  record Page(List<String> userIds, String next) {}

  /** A change from one event of {@code user}'s entity; {@code version} is its sequence number. */
  sealed interface Write {
    long version();
  }

  record FollowerAdded(String user, String follower, Instant since, long version) implements Write {}

  record FollowerRemoved(String user, String follower, long version) implements Write {}

  record FollowingAdded(String user, String followee, Instant since, long version) implements Write {}

  record FollowingRemoved(String user, String followee, long version) implements Write {}

  record FollowerCount(String user, int followers, long version) implements Write {}

  record LastPost(String user, long number, long version) implements Write {}

  record LastActive(String user, Instant at, long version) implements Write {}

  record Celebrity(String user, boolean celebrity, long version) implements Write {}

  record Muted(String user, String author, boolean muted, long version) implements Write {}

  record Blocked(String user, String author, boolean blocked, long version) implements Write {}

  CompletionStage<Done> apply(List<Write> writes);

  CompletionStage<Page> followers(String user, String after, int limit);

  CompletionStage<Page> following(String user, String after, int limit);

  /**
   * When each of {@code users} last read their home timeline (users never seen are absent): the later of the
   * projected activity and {@link #markReturned}.
   */
  CompletionStage<Map<String, Instant>> lastActive(Collection<String> users);

  /**
   * Marks {@code user} active from {@code at} on, at once: written by the home-timeline read (not the projection) when
   * an inactive user comes back, before their timeline is rebuilt, so no post falls between the fan-out skipping them
   * and the rebuild.
   */
  CompletionStage<Done> markReturned(String user, Instant at);

  /** The number of each user's latest post (users who never posted are absent): where their `user_posts` start. */
  CompletionStage<Map<String, Long>> lastPosts(Collection<String> users);

  CompletionStage<Set<String>> celebrities();

  /** The ones among {@code candidates} that {@code user} follows. */
  CompletionStage<Set<String>> followingAmong(String user, Collection<String> candidates);

  /** The authors {@code user} muted or blocked. */
  CompletionStage<Set<String>> hidden(String user);
}
