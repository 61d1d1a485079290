package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The fan-out policy, the cursor, and the home read's merge, filters, paging and rebuild, on in-memory read models and
 * real {@link HomeFeed} actors (the first page comes from them; the World tells them what the fan-out and the follows
 * projection would).
 */
class HomeTimelineTest {

  private static final ActorTestKit TEST_KIT = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    TEST_KIT.shutdownTestKit();
  }

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final FanoutPolicy POLICY = new FanoutPolicy(3, Duration.ofDays(14));

  @Test
  void theFanoutPolicySkipsCelebritiesAndInactiveFollowers() {
    assertTrue(POLICY.fansOut(2));
    assertFalse(POLICY.fansOut(3), "at the threshold an author is a celebrity");
    var active = Map.of("a", NOW.minus(Duration.ofDays(1)), "b", NOW.minus(Duration.ofDays(15)));
    assertEquals(List.of("a"), POLICY.recipients(List.of("a", "b", "never"), active, NOW));
  }

  @Test
  void aCursorRoundTripsAndOrdersByTimeThenId() {
    var item = item("ann:2", 5);
    var cursor = TimelineCursor.after(item);
    assertEquals(cursor, TimelineCursor.decode(cursor.encode()));
    assertNull(TimelineCursor.decode("garbage!"));
    assertNull(TimelineCursor.decode(java.util.Base64.getUrlEncoder().encodeToString("1.2.nocolon".getBytes())));
    assertTrue(cursor.isBefore(item("ann:1", 4)));
    assertTrue(cursor.isBefore(item("ann:1", 5)), "same time, smaller id: after it");
    assertFalse(cursor.isBefore(item("bob:9", 5)));
    assertFalse(cursor.isBefore(item)); // strictly after
  }

  @Test
  void pushedAndCelebrityPostsMergeNewestFirstWithoutMutedOrBlockedAuthors() {
    var world = new World();
    world.home.put("me", new ArrayList<>(List.of(item("ann:1", 10), item("muted:1", 9), item("ann:2", 20))));
    world.posts.put("celeb", new ArrayList<>(List.of(item("celeb:1", 15), item("celeb:2", 25))));
    world.celebrities.add("celeb");
    world.following.addAll(Set.of("ann", "celeb", "muted"));
    world.hidden.add("muted");
    var page = world.read(null, 10);
    assertEquals(List.of("celeb:2", "ann:2", "celeb:1", "ann:1"), ids(page));
    assertNull(page.next());
    // A celebrity one does not follow is not merged in.
    world.following.removeAll(Set.of("celeb", "muted"));
    world.hidden.clear();
    world.feeds.hiddenChanged("me");
    assertEquals(List.of("ann:2", "ann:1", "muted:1"), ids(world.read(null, 10)));
    // Blocked authors are hidden like muted ones (both come from the hidden read model).
    world.hidden.add("ann");
    world.feeds.hiddenChanged("me");
    assertEquals(List.of("muted:1"), ids(world.read(null, 10)));
    assertEquals(List.of(), world.activityRecorded, "an active reader's entity is not woken");
  }

  @Test
  void aRepeatedFirstPageReadsNoTableAndShowsWhatTheFanoutAndTheFollowsProjectionTellIt() {
    var world = new World();
    world.home.put("me", new ArrayList<>(List.of(item("ann:1", 1), item("bob:1", 2))));
    world.following.addAll(Set.of("ann", "bob"));
    assertEquals(List.of("bob:1", "ann:1"), ids(world.read(null, 10)));
    assertEquals(1, world.reads("home_timeline"));
    assertEquals(1, world.reads("timeline_hidden"));
    world.push(item("ann:2", 3));
    world.home.get("me").removeIf(i -> i.postId().equals("bob:1"));
    world.feeds.removed(List.of("me"), "bob:1");
    assertEquals(List.of("ann:2", "ann:1"), ids(world.read(null, 10)));
    world.hidden.add("ann");
    world.feeds.hiddenChanged("me");
    assertEquals(List.of(), ids(world.read(null, 10)));
    assertEquals(1, world.reads("home_timeline"), "the rows were read once, by the feed's load");
    assertEquals(List.of("memory", "memory", "memory"), world.served);
    assertEquals(2, world.reads("timeline_hidden"), "hidden authors again only after they changed");
  }

  @Test
  void whenTheFeedDoesNotAnswerTheFirstPageIsReadFromTheTables() {
    var world = new World();
    world.home.put("me", new ArrayList<>(List.of(item("ann:1", 10), item("muted:1", 9), item("ann:2", 20))));
    world.posts.put("celeb", new ArrayList<>(List.of(item("celeb:1", 15))));
    world.celebrities.add("celeb");
    world.following.addAll(Set.of("ann", "celeb", "muted"));
    world.hidden.add("muted");
    world.feeds = new LocalFeeds(TEST_KIT, world, world.follows, LocalFeeds.SETTINGS) {
      @Override
      public CompletionStage<HomeFeed.FirstPage> read(String user, int limit, boolean reload) {
        return CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("feed's node left"));
      }
    };
    assertEquals(List.of("ann:2", "celeb:1", "ann:1"), ids(world.read(null, 10)));
    assertEquals(1, world.reads("home_timeline"));
    assertEquals(List.of("tables"), world.served);
  }

  @Test
  void aFirstPageLongerThanTheFeedHoldsIsReadFromTheTables() {
    var world = new World();
    var rows = new ArrayList<HomeTimelineRepository.Item>();
    for (int i = 1; i <= 30; i++) rows.add(item("ann:" + i, i));
    world.home.put("me", rows);
    world.following.add("ann");
    var page = world.read(null, 25);
    assertEquals(25, page.items().size());
    assertEquals("ann:30", page.items().get(0).postId());
    assertEquals("ann:6", page.items().get(24).postId());
    assertEquals(List.of("ann:5", "ann:4", "ann:3", "ann:2", "ann:1"), ids(world.read(page.next(), 25)));
  }

  @Test
  void pagingHasNoDuplicatesOrGapsWhilePostsArrive() {
    var world = new World();
    var all = new ArrayList<HomeTimelineRepository.Item>();
    for (int i = 1; i <= 25; i++) all.add(item("ann:" + i, i));
    world.home.put("me", new ArrayList<>(all));
    for (int i = 1; i <= 12; i++) world.posts.computeIfAbsent("celeb", c -> new ArrayList<>()).add(item("celeb:" + i,
        i * 2 + 1));
    world.celebrities.add("celeb");
    world.following.addAll(Set.of("ann", "celeb"));
    var seen = new ArrayList<String>();
    TimelineCursor cursor = null;
    int newer = 100;
    do {
      var page = world.read(cursor, 7);
      seen.addAll(ids(page));
      cursor = page.next();
      // New posts at the top between pages must not shift what comes next.
      world.push(item("ann:" + newer, newer++));
      world.posts.get("celeb").add(item("celeb:" + newer, newer++));
    } while (cursor != null);
    assertEquals(37, seen.size(), seen.toString());
    assertEquals(37, new HashSet<>(seen).size(), "no duplicates");
    var expected = new ArrayList<HomeTimelineRepository.Item>(all);
    for (int i = 1; i <= 12; i++) expected.add(item("celeb:" + i, i * 2 + 1));
    expected.sort(TimelineCursor.NEWEST_FIRST);
    assertEquals(expected.stream().map(HomeTimelineRepository.Item::postId).toList(), seen, "no gaps, in order");
  }

  @Test
  void aPageFilteredShortByMutesReadsOnAndKeepsItsCursor() {
    var world = new World();
    var rows = new ArrayList<HomeTimelineRepository.Item>();
    for (int i = 1; i <= 60; i++) rows.add(item((i % 10 == 0 ? "ann:" : "muted:") + i, i));
    world.home.put("me", rows);
    world.following.addAll(Set.of("ann", "muted"));
    world.hidden.add("muted");
    var page = world.read(null, 5);
    assertEquals(List.of("ann:60", "ann:50", "ann:40", "ann:30", "ann:20"), ids(page));
    assertEquals(List.of("ann:10"), ids(world.read(page.next(), 5)));
  }

  @Test
  void aReturningUserIsRebuiltFromTheUsersTheyFollowButNotFromCelebrities() {
    var world = new World();
    world.posts.put("ann", new ArrayList<>(List.of(item("ann:1", 1), item("ann:2", 2))));
    world.posts.put("celeb", new ArrayList<>(List.of(item("celeb:1", 3))));
    world.celebrities.add("celeb");
    world.following.addAll(Set.of("ann", "celeb"));
    world.lastActive = NOW.minus(Duration.ofDays(30));
    assertEquals(List.of("celeb:1", "ann:2", "ann:1"), ids(world.read(null, 10)));
    assertEquals(List.of("ann:2", "ann:1"), world.home.get("me").stream()
        .sorted(TimelineCursor.NEWEST_FIRST).map(HomeTimelineRepository.Item::postId).toList(),
        "pushed rows rebuilt; celebrities stay merged at read time");
    assertEquals(List.of("me"), world.activityRecorded, "the returning reader's activity is recorded");
  }

  @Test
  void aReturningUserIsMarkedActiveBeforeTheRebuildReadsPostsAndFollowsAsTheirEntityKnows() {
    var world = new World();
    world.posts.put("ann", new ArrayList<>(List.of(item("ann:1", 1))));
    world.posts.put("bob", new ArrayList<>(List.of(item("bob:1", 2))));
    world.following.add("ann");
    // The follow of bob is confirmed by the entity but not projected yet.
    world.entityFollowing = Set.of("ann", "bob");
    world.lastActive = null;
    assertEquals(List.of("bob:1", "ann:1"), ids(world.read(null, 10)));
    assertEquals("returned me", world.calls.get(0), "marked active before any post is read: " + world.calls);
    assertEquals(NOW, world.returnedAt);
    // Now active for the fan-out: the next read neither rebuilds nor asks the entity again.
    world.calls.clear();
    world.read(null, 10);
    assertEquals(List.of(), world.calls);
    assertEquals(List.of("me"), world.activityRecorded);
  }

  @Test
  void whenTheEntityDoesNotAnswerTheRebuildUsesTheReadModelAndTheNextReadTriesAgain() {
    var world = new World();
    world.posts.put("ann", new ArrayList<>(List.of(item("ann:1", 1))));
    world.following.add("ann");
    world.unanswered = true;
    world.lastActive = null;
    assertEquals(List.of("ann:1"), ids(world.read(null, 10)));
    assertNull(world.returnedAt, "not marked active: the entity did not record it");
    world.read(null, 10);
    assertEquals(List.of("me", "me"), world.activityRecorded, "asked again on the next read");
  }

  @Test
  void activityIsRecordedOnlyWhenTheReadModelShowsItOlderThanTheResolution() {
    var recent = new World();
    recent.lastActive = NOW.minus(Duration.ofMinutes(59));
    recent.read(null, 10);
    assertEquals(List.of(), recent.activityRecorded);
    var older = new World();
    older.lastActive = NOW.minus(Duration.ofMinutes(61));
    older.read(null, 10);
    assertEquals(List.of("me"), older.activityRecorded);
    var never = new World();
    never.lastActive = null;
    never.read(null, 10);
    assertEquals(List.of("me"), never.activityRecorded, "a user never seen is recorded (and registered)");
  }

  private static HomeTimelineRepository.Item item(String postId, int second) {
    return new HomeTimelineRepository.Item(postId, UserTimeline.authorOf(postId), "text of " + postId,
        NOW.minus(Duration.ofDays(1)).plusSeconds(second));
  }

  private static List<String> ids(HomeTimeline.Page page) {
    return page.items().stream().map(HomeTimelineRepository.Item::postId).toList();
  }

  /** In-memory read models behind the real HomeTimeline. */
  private static final class World implements HomeTimelineRepository, UserPostsRepository {
    final Map<String, List<HomeTimelineRepository.Item>> home = new HashMap<>();
    final Map<String, List<HomeTimelineRepository.Item>> posts = new HashMap<>();
    final Set<String> celebrities = new TreeSet<>();
    /** Whom "me" follows and hides, and when "me" was last active, as the `follows` read model has them. */
    final Set<String> following = new TreeSet<>();
    final Set<String> hidden = new HashSet<>();
    Instant lastActive = NOW.minusSeconds(60);
    final List<String> activityRecorded = new ArrayList<>();
    /** Whom "me" follows as the entity knows it (null: the entity does not answer); the read model may lag. */
    Set<String> entityFollowing;
    /** The read-model calls of a rebuild, in order. */
    final List<String> calls = new ArrayList<>();
    Instant returnedAt;
    boolean unanswered;
    final Follows follows = new Follows();
    /** Where each page came from. */
    final List<String> served = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How often each table was read by the home reads. */
    final Map<String, Integer> tableReads = new HashMap<>();
    HomeFeed.Feeds feeds = new LocalFeeds(TEST_KIT, this, follows, LocalFeeds.SETTINGS);
    final HomeTimeline timeline = new HomeTimeline(this, new HomeFeed.Feeds() {
      @Override
      public CompletionStage<HomeFeed.FirstPage> read(String user, int limit, boolean reload) {
        return feeds.read(user, limit, reload);
      }

      @Override
      public void pushed(Collection<String> users, HomeTimelineRepository.Item item) {
        feeds.pushed(users, item);
      }

      @Override
      public void removed(Collection<String> users, String postId) {
        feeds.removed(users, postId);
      }

      @Override
      public void hiddenChanged(String user) {
        feeds.hiddenChanged(user);
      }
    }, this, follows, new KnownActivity(follows, 100), POLICY,
        Duration.ofHours(1),
        activityRecorded::add, user -> {
          activityRecorded.add(user);
          var known = entityFollowing != null ? entityFollowing : following;
          return unanswered ? CompletableFuture.failedFuture(new RuntimeException("timeout"))
              : CompletableFuture.completedFuture(Set.copyOf(known));
        }, Clock.fixed(NOW, ZoneOffset.UTC), from -> served.add(from));

    HomeTimeline.Page read(TimelineCursor cursor, int limit) {
      return timeline.read("me", cursor, limit).toCompletableFuture().join();
    }

    /** What the fan-out does: writes the row, then tells the feed. */
    void push(HomeTimelineRepository.Item item) {
      insert(List.of("me"), item);
      feeds.pushed(List.of("me"), item);
    }

    int reads(String table) {
      synchronized (tableReads) {
        return tableReads.getOrDefault(table, 0);
      }
    }

    private void countRead(String table) {
      synchronized (tableReads) {
        tableReads.merge(table, 1, Integer::sum);
      }
    }

    @Override
    public CompletionStage<Done> insert(Collection<String> users, HomeTimelineRepository.Item item) {
      for (var user : users) {
        var rows = home.computeIfAbsent(user, u -> new ArrayList<>());
        if (rows.stream().noneMatch(r -> r.postId().equals(item.postId()))) rows.add(item);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Done> remove(Collection<String> users, String postId, Instant createdAt, Instant at) {
      users.forEach(u -> home.getOrDefault(u, new ArrayList<>()).removeIf(r -> r.postId().equals(postId)));
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<List<HomeTimelineRepository.Item>> page(String user, TimelineCursor before, int limit) {
      countRead("home_timeline");
      return CompletableFuture.completedFuture(home.getOrDefault(user, List.of()).stream()
          .filter(i -> before == null || before.isBefore(i)).sorted(TimelineCursor.NEWEST_FIRST).limit(limit)
          .toList());
    }

    @Override
    public CompletionStage<Done> trim(String user, int keep) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Done> apply(List<UserPostsRepository.Write> writes) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Optional<Instant>> createdAt(String author, long number) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<List<UserPostsRepository.Post>> page(String author, long before, int limit) {
      calls.add("user_posts " + author);
      return CompletableFuture.completedFuture(posts.getOrDefault(author, List.of()).stream()
          .sorted(TimelineCursor.NEWEST_FIRST).limit(limit)
          .map(i -> new UserPostsRepository.Post(i.postId(), i.author(), UserTimeline.numberOf(i.postId()), i.text(),
              i.createdAt())).toList());
    }

    /** `follows` as seen by "me"'s read. */
    private final class Follows implements FollowsRepository {
      @Override
      public CompletionStage<Set<String>> celebrities() {
        return CompletableFuture.completedFuture(Set.copyOf(celebrities));
      }

      @Override
      public CompletionStage<Set<String>> followingAmong(String user, Collection<String> candidates) {
        var among = new HashSet<>(candidates);
        among.retainAll(following);
        return CompletableFuture.completedFuture(among);
      }

      @Override
      public CompletionStage<Set<String>> hidden(String user) {
        countRead("timeline_hidden");
        return CompletableFuture.completedFuture(Set.copyOf(hidden));
      }

      @Override
      public CompletionStage<Map<String, Instant>> lastActive(Collection<String> users) {
        var latest = lastActive == null || (returnedAt != null && returnedAt.isAfter(lastActive)) ? returnedAt
            : lastActive;
        return CompletableFuture.completedFuture(latest == null ? Map.of() : Map.of("me", latest));
      }

      @Override
      public CompletionStage<Done> markReturned(String user, Instant at) {
        calls.add("returned " + user);
        returnedAt = at;
        return CompletableFuture.completedFuture(Done.getInstance());
      }

      /** All of "me"'s followees on one page. */
      @Override
      public CompletionStage<FollowsRepository.Page> following(String user, String after, int limit) {
        return CompletableFuture.completedFuture(new FollowsRepository.Page(List.copyOf(following), null));
      }

      /** Every author has posts up to a high number; the in-memory `page` ignores where it starts. */
      @Override
      public CompletionStage<Map<String, Long>> lastPosts(Collection<String> authors) {
        var last = new HashMap<String, Long>();
        authors.forEach(a -> last.put(a, 1_000_000L));
        return CompletableFuture.completedFuture(last);
      }

      @Override
      public CompletionStage<FollowsRepository.Page> followers(String user, String after, int limit) {
        throw new UnsupportedOperationException();
      }

      @Override
      public CompletionStage<Done> apply(List<FollowsRepository.Write> writes) {
        throw new UnsupportedOperationException();
      }
    }
  }
}
