package io.plaza.timeline;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.Done;

/**
 * The home-timeline read: the user's pushed timeline merged (newest first) with the recent posts of the celebrities
 * they follow, without muted or blocked authors, from a cursor position. A user who was inactive gets their pushed
 * timeline rebuilt first from the recent posts of everyone they follow.
 */
public final class HomeTimeline {

  /** One page and the cursor of the next (null at the end). */
  public record Page(List<HomeTimelineRepository.Item> items, TimelineCursor next) {}

  /** How many recent posts of each followed celebrity are merged in, and of each followee on a rebuild. */
  static final int CELEBRITY_POSTS = 200;
  static final int REBUILD_POSTS = 20;
  private static final int MAX_ROUNDS = 5;
  private static final int FOLLOWING_PAGE = 1000;
  private static final Duration CELEBRITIES_CACHE = Duration.ofSeconds(10);

  private final HomeTimelineRepository home;
  private final HomeFeed.Feeds feeds;
  private final UserPostsRepository posts;
  private final FollowsRepository follows;
  private final KnownActivity activity;
  private final FanoutPolicy policy;
  private final Duration activityResolution;
  private final Consumer<String> recordActivity;
  private final Function<String, CompletionStage<Set<String>>> comeBack;
  private final Clock clock;
  private final Consumer<String> served;
  private final AtomicReference<Cached> celebrities = new AtomicReference<>();

  private record Cached(long loadedAt, CompletionStage<Set<String>> users) {}

  /**
   * @param recordActivity tells the user's entity that they read their timeline (fire and forget: the entity
   *     persists at most one activity per {@code activityResolution}); called only when the read model shows the last
   *     activity older than that
   * @param served told where each page came from: "memory" (the feed) or "tables"
   * @param comeBack asks the user's entity to record their activity when they return after being inactive, and
   *     answers whom they follow: the rebuild must not miss a follow the read model has not caught up with
   */
  public HomeTimeline(HomeTimelineRepository home, HomeFeed.Feeds feeds, UserPostsRepository posts,
      FollowsRepository follows, KnownActivity activity, FanoutPolicy policy, Duration activityResolution,
      Consumer<String> recordActivity, Function<String, CompletionStage<Set<String>>> comeBack, Clock clock,
      Consumer<String> served) {
    this.served = served;
    this.comeBack = comeBack;
    this.home = home;
    this.feeds = feeds;
    this.posts = posts;
    this.follows = follows;
    this.activity = activity;
    this.policy = policy;
    this.activityResolution = activityResolution;
    this.recordActivity = recordActivity;
    this.clock = clock;
  }

  /**
   * Reads only read models (never the user's entity, which may be passivated): when the user was last active, whom
   * they hide, which celebrities they follow. So a mute or block reaches the home timeline within the projection lag.
   * The first page comes from the user's {@link HomeFeed} (rows and hidden authors in memory); later pages, and a
   * first page the feed cannot answer, from the tables.
   */
  public CompletionStage<Page> read(String user, TimelineCursor cursor, int limit) {
    var hiddenRead = cursor == null ? null : follows.hidden(user).toCompletableFuture();
    var asOf = clock.instant();
    // No read when this node already knows the user was active within the activity resolution: then they are active
    // and their activity needs no recording, whatever the read model says now.
    var lastActiveRead = activity.lastActive(List.of(user),
        at -> policy.isActive(at, asOf) && at.plus(activityResolution).isAfter(asOf), follows).toCompletableFuture();
    var celebritiesFollowed = celebrities()
        .thenCompose(celebs -> (celebs.isEmpty() ? CompletableFuture.<Set<String>>completedFuture(Set.of())
            : follows.followingAmong(user, celebs)).thenApply(followed -> new Celebs(celebs, followed)))
        .toCompletableFuture();
    return lastActiveRead.thenCombine(celebritiesFollowed, (lastActives, celebs) -> {
      var now = clock.instant();
      var lastActive = lastActives.get(user);
      boolean rebuild = !policy.isActive(lastActive, now) && cursor == null;
      if (!rebuild && (lastActive == null || !lastActive.plus(activityResolution).isAfter(now))) {
        recordActivity.accept(user);
      }
      var rebuilt = rebuild ? returned(user, celebs.all()) : done();
      return rebuilt.thenCompose(d -> celebrityPosts(List.copyOf(celebs.followed()), cursor))
          .thenCompose(merged -> {
            if (cursor == null) return firstPage(user, limit, rebuild, merged);
            served.accept("tables");
            return hiddenRead.thenCompose(hidden -> collect(user, cursor, limit, hidden, merged, new ArrayList<>(), 0));
          });
    }).thenCompose(page -> page);
  }

  /**
   * The feed's first visible pushed items merged with the celebrity posts. The feed returns {@code limit} items when
   * the pushed timeline goes on, so a celebrity post older than its last one cannot make the page. If the feed does
   * not answer (a node leaving, a load failing), the page is read from the tables as before.
   */
  private CompletionStage<Page> firstPage(String user, int limit, boolean rebuilt,
      List<HomeTimelineRepository.Item> celebrityItems) {
    return feeds.read(user, limit, rebuilt).handle((page, e) -> e == null ? page : HomeFeed.FirstPage.UNANSWERED)
        .thenCompose(page -> {
          if (!page.answered()) {
            served.accept("tables");
            return follows.hidden(user).thenCompose(hidden ->
                collect(user, null, limit, hidden, celebrityItems, new ArrayList<>(), 0));
          }
          served.accept("memory");
          var byId = new LinkedHashMap<String, HomeTimelineRepository.Item>();
          for (var item : page.items()) byId.putIfAbsent(item.postId(), item);
          for (var item : celebrityItems) {
            if (!page.hidden().contains(item.author())) byId.putIfAbsent(item.postId(), item);
          }
          var visible = byId.values().stream().sorted(TimelineCursor.NEWEST_FIRST).toList();
          var items = visible.subList(0, Math.min(limit, visible.size()));
          boolean more = visible.size() > limit || page.more();
          var next = more && !items.isEmpty() ? TimelineCursor.after(items.get(items.size() - 1)) : null;
          return CompletableFuture.completedFuture(new Page(List.copyOf(items), next));
        });
  }

  private record Celebs(Set<String> all, Set<String> followed) {}

  /**
   * Takes pushed items a chunk at a time, merges them with the celebrity posts older than the cursor, and keeps going
   * while filtering left the page short and the pushed timeline has more.
   */
  private CompletionStage<Page> collect(String user, TimelineCursor from, int limit, Set<String> hidden,
      List<HomeTimelineRepository.Item> celebrityItems, List<HomeTimelineRepository.Item> pushedSoFar, int round) {
    int chunk = limit + 20;
    return home.page(user, from, chunk).thenCompose(pushed -> {
      pushedSoFar.addAll(pushed);
      var byId = new LinkedHashMap<String, HomeTimelineRepository.Item>();
      for (var item : pushedSoFar) byId.putIfAbsent(item.postId(), item);
      for (var item : celebrityItems) byId.putIfAbsent(item.postId(), item);
      boolean morePushed = pushed.size() == chunk;
      var lastPushed = pushed.isEmpty() ? null : TimelineCursor.after(pushed.get(pushed.size() - 1));
      var visible = byId.values().stream()
          .filter(item -> !hidden.contains(item.author()))
          // Beyond the last pushed row read, the pushed timeline is unknown yet: stop there.
          .filter(item -> !morePushed || !lastPushed.isBefore(item))
          .sorted(TimelineCursor.NEWEST_FIRST)
          .toList();
      if (visible.size() >= limit || !morePushed || round >= MAX_ROUNDS) {
        var items = visible.subList(0, Math.min(limit, visible.size()));
        boolean more = visible.size() > limit || morePushed;
        var next = more && !items.isEmpty() ? TimelineCursor.after(items.get(items.size() - 1)) : null;
        return CompletableFuture.completedFuture(new Page(List.copyOf(items), next));
      }
      return collect(user, lastPushed, limit, hidden, celebrityItems, pushedSoFar, round + 1);
    });
  }

  private CompletionStage<List<HomeTimelineRepository.Item>> celebrityPosts(List<String> celebs,
      TimelineCursor cursor) {
    return recentPosts(celebs, CELEBRITY_POSTS).thenApply(posts -> posts.stream()
        .filter(item -> cursor == null || cursor.isBefore(item)).toList());
  }

  /** The latest {@code each} live posts of each of {@code authors}, from `user_posts`. */
  private CompletionStage<List<HomeTimelineRepository.Item>> recentPosts(List<String> authors, int each) {
    if (authors.isEmpty()) return CompletableFuture.completedFuture(List.of());
    return follows.lastPosts(authors).thenCompose(last -> {
      var pages = last.entrySet().stream()
          .map(e -> posts.page(e.getKey(), e.getValue() + 1, each).toCompletableFuture()).toList();
      return CompletableFuture.allOf(pages.toArray(CompletableFuture[]::new)).thenApply(v -> pages.stream()
          .flatMap(page -> page.join().stream())
          .map(p -> new HomeTimelineRepository.Item(p.postId(), p.author(), p.text(), p.createdAt()))
          .toList());
    });
  }

  /**
   * A user back after being inactive (or new): the fan-out has been skipping them. In this order: their entity records
   * the activity and says whom they follow; they are marked active in `follows` at once, so every post fanned out
   * from now on is pushed to them; then their timeline is rebuilt from `user_posts`, which already holds every post
   * whose fan-out skipped them (the fan-out waits for it). If the entity does not answer, the rebuild uses the
   * read model's follow list and the user stays unmarked, so the next read does all this again.
   */
  private CompletionStage<Done> returned(String user, Set<String> celebrities) {
    return comeBack.apply(user).handle((following, e) -> following).thenCompose(following -> following == null
        ? allFollowing(user, null, new ArrayList<>()).thenCompose(all -> rebuild(user, all, celebrities))
        : follows.markReturned(user, clock.instant())
            .thenCompose(d -> rebuild(user, List.copyOf(following), celebrities)));
  }

  /** Pulls the recent posts of the user's followees (but celebrities) into their pushed timeline. */
  private CompletionStage<Done> rebuild(String user, List<String> followees, Set<String> celebrities) {
    return recentPosts(followees.stream().filter(f -> !celebrities.contains(f)).toList(), REBUILD_POSTS)
        .thenCompose(items -> {
          var writes = items.stream().map(item -> home.insert(List.of(user), item).toCompletableFuture()).toList();
          return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
        });
  }

  private CompletionStage<List<String>> allFollowing(String user, String after, List<String> soFar) {
    return follows.following(user, after, FOLLOWING_PAGE).thenCompose(page -> {
      soFar.addAll(page.userIds());
      return page.next() == null ? CompletableFuture.completedFuture(soFar) : allFollowing(user, page.next(), soFar);
    });
  }

  /** Celebrities change rarely (a threshold crossing): one read per node every few seconds, not per request. */
  private CompletionStage<Set<String>> celebrities() {
    var cached = celebrities.get();
    long now = System.nanoTime();
    if (cached != null && now - cached.loadedAt() < CELEBRITIES_CACHE.toNanos()) return cached.users();
    var loading = follows.celebrities();
    celebrities.set(new Cached(now, loading));
    return loading.exceptionally(e -> {
      celebrities.set(null);
      throw e instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(e);
    });
  }

  private static CompletionStage<Done> done() {
    return CompletableFuture.completedFuture(Done.getInstance());
  }
}
