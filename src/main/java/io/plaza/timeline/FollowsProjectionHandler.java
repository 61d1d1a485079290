package io.plaza.timeline;

import io.plaza.platform.OrderedDelivery.Sequenced;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Keeps `follows` up to date. Each side writes its own rows: the followee's events its followers and counters, the
 * follower's events its following list. Celebrity status is written when the follower count crosses the threshold.
 */
public final class FollowsProjectionHandler extends Handler<List<EventEnvelope<UserTimeline.Event>>> {

  private final FollowsRepository repository;
  private final int celebrityThreshold;
  private final java.util.function.Consumer<String> hiddenChanged;

  /** @param hiddenChanged told, after the writes, of each user whose mutes or blocks changed (their home feed) */
  public FollowsProjectionHandler(FollowsRepository repository, int celebrityThreshold,
      java.util.function.Consumer<String> hiddenChanged) {
    this.repository = repository;
    this.celebrityThreshold = celebrityThreshold;
    this.hiddenChanged = hiddenChanged;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<UserTimeline.Event>> envelopes) {
    return apply(Sequenced.of(envelopes));
  }

  /** Writes the rows of the events (also delivered by the entity itself, {@link io.plaza.platform.DirectDelivery}). */
  CompletionStage<Done> apply(List<Sequenced<UserTimeline.Event>> events) {
    var writes = new ArrayList<FollowsRepository.Write>();
    var lastPosts = new ArrayList<FollowsRepository.Write>();
    var hiding = new java.util.LinkedHashSet<String>();
    for (var sequenced : events) {
      for (var write : writesFor(sequenced.event(), sequenced.sequenceNr(), celebrityThreshold)) {
        (write instanceof FollowsRepository.LastPost ? lastPosts : writes).add(write);
        if (write instanceof FollowsRepository.Muted m) hiding.add(m.user());
        if (write instanceof FollowsRepository.Blocked b) hiding.add(b.user());
      }
    }
    // `last_post` is the fan-out's marker that the author's earlier events are applied (TimelineFanout waits for it):
    // it may only land once every other write of the batch has.
    var applied = repository.apply(writes).thenApply(done -> {
      hiding.forEach(hiddenChanged);
      return done;
    });
    return lastPosts.isEmpty() ? applied : applied.thenCompose(done -> repository.apply(lastPosts));
  }

  static List<FollowsRepository.Write> writesFor(UserTimeline.Event event, long v, int celebrityThreshold) {
    var user = event.userId();
    if (event instanceof UserTimeline.Followed e) {
      return List.of(new FollowsRepository.FollowingAdded(user, e.target(), e.at(), v));
    }
    if (event instanceof UserTimeline.Unfollowed e) {
      return List.of(new FollowsRepository.FollowingRemoved(user, e.target(), v));
    }
    if (event instanceof UserTimeline.FollowRefused e) {
      return List.of(new FollowsRepository.FollowingRemoved(user, e.target(), v));
    }
    if (event instanceof UserTimeline.FollowingSevered e) {
      return List.of(new FollowsRepository.FollowingRemoved(user, e.target(), v));
    }
    if (event instanceof UserTimeline.FollowerAdded e) {
      return withCount(user, e.followers(), v, celebrityThreshold,
          new FollowsRepository.FollowerAdded(user, e.follower(), e.at(), v));
    }
    if (event instanceof UserTimeline.FollowerRemoved e) {
      return withCount(user, e.followers(), v, celebrityThreshold,
          new FollowsRepository.FollowerRemoved(user, e.follower(), v));
    }
    if (event instanceof UserTimeline.BlockChanged e) {
      var blocked = new FollowsRepository.Blocked(user, e.target(), e.blocked(), v);
      if (!e.blocked()) return List.of(blocked);
      var writes = new ArrayList<>(withCount(user, e.followers(), v, celebrityThreshold,
          new FollowsRepository.FollowerRemoved(user, e.target(), v)));
      writes.add(new FollowsRepository.FollowingRemoved(user, e.target(), v));
      writes.add(blocked);
      return writes;
    }
    if (event instanceof UserTimeline.MuteChanged e) {
      return List.of(new FollowsRepository.Muted(user, e.target(), e.muted(), v));
    }
    if (event instanceof UserTimeline.PostCreated e) {
      return List.of(new FollowsRepository.LastPost(user, e.number(), v));
    }
    if (event instanceof UserTimeline.ActivityRecorded e) {
      return List.of(new FollowsRepository.LastActive(user, e.at(), v));
    }
    return List.of();
  }

  /** The relation change, the new count and, only when the count crosses the threshold, the celebrity flag. */
  private static List<FollowsRepository.Write> withCount(String user, int followers, long v, int threshold,
      FollowsRepository.Write change) {
    var writes = new ArrayList<FollowsRepository.Write>(List.of(change,
        new FollowsRepository.FollowerCount(user, followers, v)));
    if (followers == threshold) writes.add(new FollowsRepository.Celebrity(user, true, v));
    if (followers == threshold - 1) writes.add(new FollowsRepository.Celebrity(user, false, v));
    return writes;
  }
}
