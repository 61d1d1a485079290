package io.plaza.timeline;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Metrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * A reading user's home timeline in memory: the newest rows of their `home_timeline` partition and the authors they
 * hide, held by one sharded actor per user (not persistent: Cassandra stays the truth), so a first-page read touches
 * no table. It loads both tables on the first read; the fan-out tells it every row it writes or deletes (after the
 * write, so a load that missed a row is always followed by the row's message); the follows projection tells it when
 * a mute or block changed (it reads them again). A message lost in the cluster leaves it stale for at most
 * {@code max-age}, after which the next read loads again. An entity started by an update alone (its user is not
 * reading) loads nothing and passivates.
 */
public final class HomeFeed {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "HomeFeed");

  public sealed interface Command extends CborSerializable {}

  /** The first {@code limit} visible pushed items; {@code reload}: read the tables first (the timeline was rebuilt). */
  public record Read(int limit, boolean reload, ActorRef<FirstPage> replyTo) implements Command {}

  /** A row the fan-out has written into this user's timeline. */
  public record Pushed(HomeTimelineRepository.Item item) implements Command {}

  /** A row the fan-out has deleted from this user's timeline. */
  public record Removed(String postId) implements Command {}

  /** The user's mutes or blocks changed in `timeline_hidden`. */
  public record HiddenChanged() implements Command {}

  /** Sharding's stop message: it queues behind what is in the mailbox, so a read in flight is answered first. */
  public record Stop() implements Command {}

  private record Loaded(List<HomeTimelineRepository.Item> rows, Set<String> hidden) implements Command {}

  private record LoadFailed(Throwable cause) implements Command {}

  private record PassivateUnread() implements Command {}

  /**
   * {@code items}: up to {@code limit} pushed items without hidden authors, newest first; {@code more}: the pushed
   * timeline goes on after them; {@code hidden}: the authors to filter out of anything merged in. {@code answered}
   * false: this feed cannot tell (the limit is above its size, or hidden authors filled its window): read the tables.
   */
  public record FirstPage(List<HomeTimelineRepository.Item> items, boolean more, Set<String> hidden,
      boolean answered) implements CborSerializable {
    static final FirstPage UNANSWERED = new FirstPage(List.of(), false, Set.of(), false);
  }

  /**
   * {@code items}: how many newest rows each feed holds; {@code maxAge}: how long a load is trusted;
   * {@code unreadLinger}: how long an entity started by an update alone stays before it passivates;
   * {@code askTimeout}: how long a read waits for its feed before it reads the tables instead.
   */
  public record Settings(int items, Duration maxAge, Duration unreadLinger, Duration askTimeout) {
    public static Settings fromConfig(com.typesafe.config.Config timeline) {
      var c = timeline.getConfig("home-cache");
      return new Settings(c.getInt("items"), c.getDuration("max-age"), Duration.ofSeconds(5),
          c.getDuration("ask-timeout"));
    }
  }

  /** How the rest of the timeline domain reaches the feeds (sharded in a node; in memory in unit tests). */
  public interface Feeds {
    CompletionStage<FirstPage> read(String user, int limit, boolean reload);

    void pushed(Collection<String> users, HomeTimelineRepository.Item item);

    void removed(Collection<String> users, String postId);

    void hiddenChanged(String user);
  }

  /** Deleted post ids remembered, so an update reordered behind its deletion does not bring the post back. */
  static final int REMEMBERED_REMOVALS = 256;

  /**
   * The sharded feeds, used only while every member runs this release ({@code inUse}; new in 0.4.0, their
   * coordinator lives on the oldest node): until then a read answers "ask the tables" at once and updates are not
   * sent. A feed loaded as the cluster turns homogeneous may miss a post fanned out by a node that did not see it
   * yet; its max-age bounds that.
   */
  public static Feeds init(ActorSystem<?> system, HomeTimelineRepository home, FollowsRepository follows,
      Settings settings, java.util.function.BooleanSupplier inUse) {
    io.plaza.platform.ShardingReadinessCheck.doNotAwait(system, ENTITY_KEY.name());
    var sharding = ClusterSharding.get(system);
    sharding.init(Metrics.get(system).entity(ENTITY_KEY, Command.class,
            entity -> create(home, follows, entity.getEntityId(), settings, System::nanoTime,
                self -> entity.getShard().tell(new ClusterSharding.Passivate<>(self))))
        .withStopMessage(new Stop()));
    return new Feeds() {
      @Override
      public CompletionStage<FirstPage> read(String user, int limit, boolean reload) {
        if (!inUse.getAsBoolean()) return CompletableFuture.completedFuture(FirstPage.UNANSWERED);
        return sharding.entityRefFor(ENTITY_KEY, user).ask(r -> new Read(limit, reload, r), settings.askTimeout());
      }

      @Override
      public void pushed(Collection<String> users, HomeTimelineRepository.Item item) {
        if (!inUse.getAsBoolean()) return;
        var message = new Pushed(item);
        users.forEach(user -> sharding.entityRefFor(ENTITY_KEY, user).tell(message));
      }

      @Override
      public void removed(Collection<String> users, String postId) {
        if (!inUse.getAsBoolean()) return;
        var message = new Removed(postId);
        users.forEach(user -> sharding.entityRefFor(ENTITY_KEY, user).tell(message));
      }

      @Override
      public void hiddenChanged(String user) {
        if (!inUse.getAsBoolean()) return;
        sharding.entityRefFor(ENTITY_KEY, user).tell(new HiddenChanged());
      }
    };
  }

  /** @param nanos a monotonic clock (System::nanoTime); @param passivate asks sharding to stop the entity */
  public static Behavior<Command> create(HomeTimelineRepository home, FollowsRepository follows, String user,
      Settings settings, LongSupplier nanos, java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> Behaviors.withStash(10_000, stash ->
        new HomeFeed(ctx, timers, stash, home, follows, user, settings, nanos,
            () -> passivate.accept(ctx.getSelf())).unloaded())));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final StashBuffer<Command> stash;
  private final HomeTimelineRepository home;
  private final FollowsRepository follows;
  private final String user;
  private final Settings settings;
  private final LongSupplier nanos;
  private final Runnable passivate;
  // The newest rows of the partition, newest first: an exact prefix of it (rows deleted since are gone from both).
  private final List<HomeTimelineRepository.Item> window = new ArrayList<>();
  private final LinkedHashSet<String> removals = new LinkedHashSet<>();
  /** The partition had no row beyond the window when loaded (so a row older than the window is still inside it). */
  private boolean complete;
  /** Null when it must be read again. */
  private Set<String> hidden;
  private long loadedAt;

  private HomeFeed(ActorContext<Command> ctx, TimerScheduler<Command> timers, StashBuffer<Command> stash,
      HomeTimelineRepository home, FollowsRepository follows, String user, Settings settings, LongSupplier nanos,
      Runnable passivate) {
    this.ctx = ctx;
    this.timers = timers;
    this.stash = stash;
    this.home = home;
    this.follows = follows;
    this.user = user;
    this.settings = settings;
    this.nanos = nanos;
    this.passivate = passivate;
  }

  /** Nothing held: the user has not read yet. Updates are dropped (a load will read their rows). */
  private Behavior<Command> unloaded() {
    return Behaviors.receive(Command.class)
        .onMessage(Read.class, read -> load(read, true))
        .onMessage(PassivateUnread.class, p -> {
          passivate.run();
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .onAnyMessage(update -> {
          if (!timers.isTimerActive("unread")) timers.startSingleTimer("unread", new PassivateUnread(),
              settings.unreadLinger());
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<Command> loaded() {
    return Behaviors.receive(Command.class)
        .onMessage(Read.class, read -> {
          boolean stale = nanos.getAsLong() - loadedAt > settings.maxAge().toNanos();
          if (read.reload() || stale) return load(read, true);
          if (hidden == null) return load(read, false);
          // Deletions shrank the window below what this read needs while the partition holds more: read it again.
          if (!complete && window.size() < settings.items() && visible(read.limit() + 1).size() <= read.limit()) {
            return load(read, true);
          }
          read.replyTo().tell(page(read.limit()));
          return Behaviors.same();
        })
        .onMessage(Pushed.class, pushed -> {
          push(pushed.item());
          return Behaviors.same();
        })
        .onMessage(Removed.class, removed -> {
          remove(removed.postId());
          return Behaviors.same();
        })
        .onMessage(HiddenChanged.class, changed -> {
          hidden = null;
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .onMessage(PassivateUnread.class, p -> Behaviors.same())
        .build();
  }

  /** Reads the rows (when {@code rows}) and the hidden authors, then answers {@code read}; the rest waits. */
  private Behavior<Command> load(Read read, boolean rows) {
    timers.cancel("unread");
    var rowsRead = rows ? home.page(user, null, settings.items() + 1).toCompletableFuture()
        : CompletableFuture.<List<HomeTimelineRepository.Item>>completedFuture(null);
    var hiddenRead = follows.hidden(user).toCompletableFuture();
    ctx.pipeToSelf(rowsRead.thenCombine(hiddenRead, Loaded::new), (loaded, e) ->
        e != null ? new LoadFailed(e) : loaded);
    return Behaviors.receive(Command.class)
        .onMessage(Loaded.class, loaded -> {
          if (loaded.rows() != null) {
            window.clear();
            var rowsLoaded = loaded.rows();
            complete = rowsLoaded.size() <= settings.items();
            for (var item : rowsLoaded.subList(0, Math.min(settings.items(), rowsLoaded.size()))) {
              if (!removals.contains(item.postId())) window.add(item);
            }
            loadedAt = nanos.getAsLong();
          }
          hidden = Set.copyOf(loaded.hidden());
          read.replyTo().tell(page(read.limit()));
          return stash.unstashAll(loaded());
        })
        .onMessage(LoadFailed.class, failed -> {
          ctx.getLog().warn("home feed of {} could not load: {}", user, failed.cause().toString());
          read.replyTo().tell(FirstPage.UNANSWERED);
          window.clear();
          hidden = null;
          return stash.unstashAll(unloaded());
        })
        .onAnyMessage(other -> {
          stash.stash(other);
          return Behaviors.same();
        })
        .build();
  }

  private FirstPage page(int limit) {
    var visible = visible(limit + 1);
    if (visible.size() > limit) return new FirstPage(List.copyOf(visible.subList(0, limit)), true, hidden, true);
    if (complete) return new FirstPage(List.copyOf(visible), false, hidden, true);
    // Exactly a page and more rows in the partition: the page is right, and there is more after it.
    if (visible.size() == limit) return new FirstPage(List.copyOf(visible), true, hidden, true);
    return new FirstPage(List.of(), false, hidden, false);
  }

  private List<HomeTimelineRepository.Item> visible(int atMost) {
    var visible = new ArrayList<HomeTimelineRepository.Item>(Math.min(atMost, window.size()));
    for (var item : window) {
      if (visible.size() == atMost) break;
      if (!hidden.contains(item.author())) visible.add(item);
    }
    return visible;
  }

  private void push(HomeTimelineRepository.Item item) {
    if (removals.contains(item.postId())) return;
    int at = 0;
    while (at < window.size() && TimelineCursor.NEWEST_FIRST.compare(window.get(at), item) < 0) at++;
    if (at < window.size() && window.get(at).postId().equals(item.postId())) return; // redelivered
    // Older than the whole window of a partition that goes on: rows this feed does not hold may be newer.
    if (at == window.size() && !complete) return;
    window.add(at, item);
    if (window.size() > settings.items()) {
      window.remove(window.size() - 1);
      complete = false;
    }
  }

  private void remove(String postId) {
    removals.add(postId);
    if (removals.size() > REMEMBERED_REMOVALS) removals.remove(removals.iterator().next());
    window.removeIf(item -> item.postId().equals(postId));
  }
}
