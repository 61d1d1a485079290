package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The in-memory home feed: what it loads, how updates keep it exact, and when it reads the tables again. */
class HomeFeedTest {

  private static final ActorTestKit TEST_KIT = ActorTestKit.create(com.typesafe.config.ConfigFactory
      .parseString("pekko.actor.provider = local").withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final Instant T0 = Instant.parse("2026-12-01T00:00:00Z");
  private static final HomeFeed.Settings SETTINGS = new HomeFeed.Settings(4, Duration.ofMinutes(1),
      Duration.ofMillis(200), Duration.ofSeconds(3));

  @AfterAll
  static void shutdown() {
    TEST_KIT.shutdownTestKit();
  }

  @Test
  void aLoadedFeedAnswersFromMemoryAndFollowsPushesAndDeletions() {
    var tables = new Tables();
    tables.rows.addAll(List.of(item("ann:1", 1), item("bob:1", 2)));
    var feed = tables.feed();
    assertEquals(List.of("bob:1", "ann:1"), ids(read(feed, 10)));
    assertFalse(read(feed, 10).more(), "the whole partition is held");
    assertEquals(1, tables.rowReads.get());
    assertEquals(1, tables.hiddenReads.get());

    push(tables, feed, item("ann:2", 3));
    feed.tell(new HomeFeed.Pushed(item("ann:2", 3))); // redelivered
    feed.tell(new HomeFeed.Removed("bob:1"));
    var page = read(feed, 10);
    assertEquals(List.of("ann:2", "ann:1"), ids(page));
    assertEquals(1, tables.rowReads.get(), "no table read after the load");
    assertEquals(1, tables.hiddenReads.get());

    // A page shorter than what is held says there is more.
    var first = read(feed, 1);
    assertEquals(List.of("ann:2"), ids(first));
    assertTrue(first.more());
  }

  @Test
  void aDeletionThatOvertakesItsPostKeepsThePostOut() {
    var tables = new Tables();
    var feed = tables.feed();
    read(feed, 10);
    feed.tell(new HomeFeed.Removed("ann:1"));
    feed.tell(new HomeFeed.Pushed(item("ann:1", 1)));
    assertEquals(List.of(), ids(read(feed, 10)));
  }

  @Test
  void theWindowIsAnExactPrefixOfAPartitionLongerThanIt() {
    var tables = new Tables();
    for (int i = 1; i <= 6; i++) tables.rows.add(item("ann:" + i, i * 10));
    var feed = tables.feed();
    var page = read(feed, 3);
    assertEquals(List.of("ann:6", "ann:5", "ann:4"), ids(page));
    assertTrue(page.more());
    // 4 rows held of 6: a page of 4 is exact (more follow), a page of 5 the feed cannot tell.
    assertEquals(List.of("ann:6", "ann:5", "ann:4", "ann:3"), ids(read(feed, 4)));
    assertTrue(read(feed, 4).more());
    assertFalse(read(feed, 5).answered());
    // A row older than everything held is beyond the window (rows not held may be newer): not taken in.
    push(tables, feed, item("bob:1", 5));
    assertEquals(List.of("ann:6", "ann:5", "ann:4", "ann:3"), ids(read(feed, 4)));
    // A new row at the top pushes the oldest held one out.
    push(tables, feed, item("bob:2", 70));
    assertEquals(List.of("bob:2", "ann:6", "ann:5", "ann:4"), ids(read(feed, 4)));
    int loads = tables.rowReads.get();
    // Deletions shrink the window below the page asked for: the feed reads the partition again.
    tables.remove("ann:6");
    feed.tell(new HomeFeed.Removed("ann:6"));
    assertEquals(List.of("bob:2", "ann:5", "ann:4", "ann:3"), ids(read(feed, 4)));
    assertEquals(loads + 1, tables.rowReads.get());
  }

  @Test
  void hiddenAuthorsAreFilteredAndReadAgainWhenTheyChange() {
    var tables = new Tables();
    tables.rows.addAll(List.of(item("ann:1", 1), item("bob:1", 2)));
    tables.hidden.add("bob");
    var feed = tables.feed();
    var page = read(feed, 10);
    assertEquals(List.of("ann:1"), ids(page));
    assertEquals(Set.of("bob"), page.hidden());
    tables.hidden.clear();
    feed.tell(new HomeFeed.HiddenChanged());
    assertEquals(List.of("bob:1", "ann:1"), ids(read(feed, 10)));
    assertEquals(2, tables.hiddenReads.get());
    assertEquals(1, tables.rowReads.get(), "a mute change reads only the hidden authors");
  }

  @Test
  void aLoadOlderThanMaxAgeOrARebuildIsReadAgain() {
    var tables = new Tables();
    tables.rows.add(item("ann:1", 1));
    var feed = tables.feed();
    read(feed, 10);
    // A row whose update was lost: unseen until the load is too old.
    tables.rows.add(item("ann:2", 2));
    assertEquals(List.of("ann:1"), ids(read(feed, 10)));
    tables.nanos.addAndGet(SETTINGS.maxAge().toNanos() + 1);
    assertEquals(List.of("ann:2", "ann:1"), ids(read(feed, 10)));
    tables.rows.add(item("ann:3", 3));
    var rebuilt = TEST_KIT.<HomeFeed.FirstPage>createTestProbe();
    feed.tell(new HomeFeed.Read(10, true, rebuilt.getRef()));
    assertEquals(List.of("ann:3", "ann:2", "ann:1"), ids(rebuilt.receiveMessage()));
    assertEquals(3, tables.rowReads.get());
  }

  @Test
  void aFeedThatCannotLoadSaysSoAndLoadsOnTheNextRead() {
    var tables = new Tables();
    tables.rows.add(item("ann:1", 1));
    tables.failing = true;
    var feed = tables.feed();
    assertFalse(read(feed, 10).answered());
    tables.failing = false;
    assertEquals(List.of("ann:1"), ids(read(feed, 10)));
  }

  @Test
  void aFeedStartedByAnUpdateAloneReadsNothingAndPassivates() {
    var tables = new Tables();
    var feed = tables.feed();
    feed.tell(new HomeFeed.Pushed(item("ann:1", 1)));
    feed.tell(new HomeFeed.Removed("ann:0"));
    feed.tell(new HomeFeed.HiddenChanged());
    var deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    while (tables.passivations.get() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
    assertEquals(1, tables.passivations.get(), "asked sharding to stop it");
    assertEquals(0, tables.rowReads.get() + tables.hiddenReads.get());
  }

  @Test
  void everyMessageThatCrossesNodesSerializes() {
    var serialization = new org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit(TEST_KIT.system());
    var probe = TEST_KIT.<HomeFeed.FirstPage>createTestProbe();
    for (Object message : List.of(new HomeFeed.Read(20, true, probe.getRef()), new HomeFeed.Pushed(item("ann:1", 1)),
        new HomeFeed.Removed("ann:1"), new HomeFeed.HiddenChanged(), new HomeFeed.Stop(),
        new HomeFeed.FirstPage(List.of(item("bob:2", 2)), true, Set.of("eve"), true), HomeFeed.FirstPage.UNANSWERED)) {
      serialization.verifySerialization(message, true);
    }
  }

  private static HomeFeed.FirstPage read(ActorRef<HomeFeed.Command> feed, int limit) {
    var probe = TEST_KIT.<HomeFeed.FirstPage>createTestProbe();
    feed.tell(new HomeFeed.Read(limit, false, probe.getRef()));
    return probe.receiveMessage();
  }

  private static void push(Tables tables, ActorRef<HomeFeed.Command> feed, HomeTimelineRepository.Item item) {
    tables.rows.add(item);
    feed.tell(new HomeFeed.Pushed(item));
  }

  private static List<String> ids(HomeFeed.FirstPage page) {
    return page.items().stream().map(HomeTimelineRepository.Item::postId).toList();
  }

  private static HomeTimelineRepository.Item item(String postId, int second) {
    return new HomeTimelineRepository.Item(postId, UserTimeline.authorOf(postId), "text", T0.plusSeconds(second));
  }

  /** "me"'s `home_timeline` partition and `timeline_hidden` rows, counting reads. */
  private static final class Tables implements HomeTimelineRepository, FollowsRepository {
    final List<Item> rows = new CopyOnWriteArrayList<>();
    final Set<String> hidden = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final AtomicInteger rowReads = new AtomicInteger();
    final AtomicInteger hiddenReads = new AtomicInteger();
    final AtomicInteger passivations = new AtomicInteger();
    final AtomicLong nanos = new AtomicLong();
    volatile boolean failing;

    ActorRef<HomeFeed.Command> feed() {
      return TEST_KIT.spawn(HomeFeed.create(this, this, "me", SETTINGS, nanos::get,
          self -> passivations.incrementAndGet()));
    }

    void remove(String postId) {
      rows.removeIf(r -> r.postId().equals(postId));
    }

    @Override
    public CompletionStage<List<Item>> page(String user, TimelineCursor before, int limit) {
      rowReads.incrementAndGet();
      if (failing) return CompletableFuture.failedFuture(new RuntimeException("Cassandra is away"));
      return CompletableFuture.completedFuture(rows.stream().sorted(TimelineCursor.NEWEST_FIRST).limit(limit)
          .toList());
    }

    @Override
    public CompletionStage<Set<String>> hidden(String user) {
      hiddenReads.incrementAndGet();
      return CompletableFuture.completedFuture(new HashSet<>(hidden));
    }

    @Override
    public CompletionStage<Done> insert(Collection<String> users, Item item) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Done> remove(Collection<String> users, String postId, Instant createdAt, Instant at) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Done> trim(String user, int keep) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Done> apply(List<Write> writes) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Page> followers(String user, String after, int limit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Page> following(String user, String after, int limit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Map<String, Instant>> lastActive(Collection<String> users) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Done> markReturned(String user, Instant at) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Map<String, Long>> lastPosts(Collection<String> users) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Set<String>> celebrities() {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<Set<String>> followingAmong(String user, Collection<String> candidates) {
      throw new UnsupportedOperationException();
    }
  }
}
