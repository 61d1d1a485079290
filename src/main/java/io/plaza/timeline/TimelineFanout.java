package io.plaza.timeline;

import io.plaza.platform.Json;
import io.plaza.platform.Kafka;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The fan-out workers: consume `plaza.timeline.posts` (consumer group, committed offsets, on every node: Kafka spreads
 * the partitions) and push each post into its author's and its active followers' home timelines, reading the
 * followers a page at a time. Deletions take the post out of every follower's timeline. At-least-once and idempotent:
 * a redelivered post writes the same rows with the same timestamps, and never revives a deleted one.
 */
public final class TimelineFanout {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TimelineFanout.class);
  /** How long a post waits for the read models it is fanned out by; they trail the journal by about a second. */
  private static final Duration CATCH_UP_WAIT = Duration.ofSeconds(30);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(100);

  private final ActorSystem<?> system;
  private final FollowsRepository follows;
  private final KnownActivity activity;
  private final UserPostsRepository posts;
  private final HomeTimelineRepository home;
  private final HomeFeed.Feeds feeds;
  private final FanoutPolicy policy;
  private final int pageSize;
  private final int homeSize;
  private final Clock clock;
  private final java.util.function.Consumer<TimelineStream.Update> live;

  /** {@code live}: where each post and deletion goes once handled, for the open streams (TimelineStream). */
  public TimelineFanout(ActorSystem<?> system, FollowsRepository follows, KnownActivity activity,
      UserPostsRepository posts,
      HomeTimelineRepository home, HomeFeed.Feeds feeds, FanoutPolicy policy, int pageSize, int homeSize,
      Clock clock, java.util.function.Consumer<TimelineStream.Update> live) {
    this.live = live;
    this.feeds = feeds;
    this.system = system;
    this.follows = follows;
    this.activity = activity;
    this.posts = posts;
    this.home = home;
    this.policy = policy;
    this.pageSize = pageSize;
    this.homeSize = homeSize;
    this.clock = clock;
  }

  public void start(String topic, String group) {
    Kafka.consume(system, topic, group, 4, this::handle);
  }

  CompletionStage<Done> handle(String json) {
    TimelinePostMessage message;
    try {
      message = Json.MAPPER.readValue(json, TimelinePostMessage.class);
    } catch (Exception e) {
      return done(); // not ours to judge: skip, never block the topic
    }
    var handled = "PostCreated".equals(message.type()) ? fanOut(message)
        : "PostDeleted".equals(message.type()) ? retract(message) : null;
    if (handled == null) return done();
    var update = new TimelineStream.Update("PostCreated".equals(message.type()) ? "post" : "delete",
        message.postId(), message.author(), message.text(),
        "PostCreated".equals(message.type()) ? message.occurredAt() : null);
    return handled.thenApply(done -> {
      live.accept(update);
      return done;
    });
  }

  private CompletionStage<Done> fanOut(TimelinePostMessage post) {
    var item = new HomeTimelineRepository.Item(post.postId(), post.author(), post.text(), post.occurredAt());
    var own = pushed(List.of(post.author()), item);
    boolean celebrity = post.authorFollowers() != null && !policy.fansOut(post.authorFollowers());
    if (celebrity) return own;
    long deadline = System.nanoTime() + CATCH_UP_WAIT.toNanos();
    return own.thenCompose(d -> caughtUp(post, deadline)).thenCompose(d -> {
      var now = clock.instant();
      return eachFollowerPage(post.author(), null, followers ->
          // Followers known to be active need no read: activity only moves forward.
          activity.lastActive(followers, at -> policy.isActive(at, now)).thenCompose(active -> {
            var recipients = policy.recipients(followers, active, now);
            return pushed(recipients, item).thenCompose(done -> trimSome(recipients));
          }));
    });
  }

  /**
   * Waits until the read models the fan-out decides by hold everything up to this post: `follows` has applied the
   * author's events up to it (its `last_post` marker, written after the rest of each batch), so every follow the
   * author confirmed before posting is among the followers read; and `user_posts` holds it, so a follower skipped as
   * inactive finds it when their timeline is rebuilt (HomeTimeline marks them active before it reads `user_posts`).
   * The three projections trail the journal by about the same second, so this is usually one read of each. Past
   * {@code deadline} (a projection stalled) the fan-out goes ahead with what is there rather than hold the topic.
   */
  private CompletionStage<Done> caughtUp(TimelinePostMessage post, long deadline) {
    return poll(() -> {
      var lastPost = follows.lastPosts(List.of(post.author())).toCompletableFuture();
      var stored = posts.createdAt(post.author(), post.number()).toCompletableFuture();
      return lastPost.thenCombine(stored, (last, at) -> last.getOrDefault(post.author(), 0L) >= post.number()
          && at.isPresent());
    }, ready -> ready, deadline).thenApply(ready -> {
      if (!ready) log.warn("fanning out {} before the follows and user_posts read models caught up with it",
          post.postId());
      return Done.getInstance();
    });
  }

  /** Writes the rows, then tells the users' feeds (after: a feed loading meanwhile either reads the row or gets told). */
  private CompletionStage<Done> pushed(List<String> users, HomeTimelineRepository.Item item) {
    return home.insert(users, item).thenApply(done -> {
      feeds.pushed(users, item);
      return done;
    });
  }

  private CompletionStage<Done> removed(List<String> users, String postId, Instant createdAt, Instant deletedAt) {
    return home.remove(users, postId, createdAt, deletedAt).thenApply(done -> {
      feeds.removed(users, postId);
      return done;
    });
  }

  /** Now and then (1 insert in 50) a timeline is trimmed back to its size: cheap on average, bounded forever. */
  private CompletionStage<Done> trimSome(List<String> users) {
    var trims = new ArrayList<CompletableFuture<Done>>();
    for (var user : users) {
      if (ThreadLocalRandom.current().nextInt(50) == 0) trims.add(home.trim(user, homeSize).toCompletableFuture());
    }
    return CompletableFuture.allOf(trims.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }

  /** From every follower's timeline, active or not (an inactive one may hold it from before). */
  private CompletionStage<Done> retract(TimelinePostMessage deletion) {
    return createdAt(deletion, System.nanoTime() + CATCH_UP_WAIT.toNanos()).thenCompose(createdAt -> {
      if (createdAt == null) return done();
      var removeOwn = removed(List.of(deletion.author()), deletion.postId(), createdAt, deletion.occurredAt());
      return removeOwn.thenCompose(d -> eachFollowerPage(deletion.author(), null, followers ->
          removed(followers, deletion.postId(), createdAt, deletion.occurredAt())));
    });
  }

  /** The post's creation time from `user_posts`, waiting for that projection to catch up (it trails by ~1 s). */
  private CompletionStage<Instant> createdAt(TimelinePostMessage deletion, long deadline) {
    return poll(() -> posts.createdAt(deletion.author(), deletion.number()), java.util.Optional::isPresent, deadline)
        .thenApply(found -> found.orElse(null));
  }

  /** Reads until {@code ready} holds or {@code deadline} (System.nanoTime) passes; the last value read. */
  private <T> CompletionStage<T> poll(java.util.function.Supplier<CompletionStage<T>> read,
      java.util.function.Predicate<T> ready, long deadline) {
    return read.get().thenCompose(value -> {
      if (ready.test(value) || System.nanoTime() > deadline) return CompletableFuture.completedFuture(value);
      var later = new CompletableFuture<T>();
      system.scheduler().scheduleOnce(POLL_INTERVAL, () -> poll(read, ready, deadline)
          .whenComplete((next, e) -> {
            if (e != null) later.completeExceptionally(e);
            else later.complete(next);
          }), system.executionContext());
      return later;
    });
  }

  private CompletionStage<Done> eachFollowerPage(String author, String after,
      java.util.function.Function<List<String>, CompletionStage<Done>> action) {
    return follows.followers(author, after, pageSize).thenCompose(page -> {
      var step = page.userIds().isEmpty() ? done() : action.apply(page.userIds());
      return page.next() == null ? step : step.thenCompose(d -> eachFollowerPage(author, page.next(), action));
    });
  }

  private static CompletionStage<Done> done() {
    return CompletableFuture.completedFuture(Done.getInstance());
  }
}
