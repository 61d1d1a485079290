package io.plaza.timeline;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** Real {@link HomeFeed} actors, one per user, without sharding (passivation does nothing). */
class LocalFeeds implements HomeFeed.Feeds {

  static final HomeFeed.Settings SETTINGS = new HomeFeed.Settings(10, Duration.ofMinutes(1), Duration.ofSeconds(5),
      Duration.ofSeconds(3));

  private final ActorTestKit testKit;
  private final HomeTimelineRepository home;
  private final FollowsRepository follows;
  private final HomeFeed.Settings settings;
  private final Map<String, ActorRef<HomeFeed.Command>> feeds = new HashMap<>();

  LocalFeeds(ActorTestKit testKit, HomeTimelineRepository home, FollowsRepository follows,
      HomeFeed.Settings settings) {
    this.testKit = testKit;
    this.home = home;
    this.follows = follows;
    this.settings = settings;
  }

  private synchronized ActorRef<HomeFeed.Command> feed(String user) {
    return feeds.computeIfAbsent(user, u -> testKit.spawn(HomeFeed.create(home, follows, u, settings,
        System::nanoTime, self -> {})));
  }

  @Override
  public CompletionStage<HomeFeed.FirstPage> read(String user, int limit, boolean reload) {
    return AskPattern.ask(feed(user), r -> new HomeFeed.Read(limit, reload, r), settings.askTimeout(),
        testKit.scheduler());
  }

  @Override
  public void pushed(Collection<String> users, HomeTimelineRepository.Item item) {
    users.forEach(user -> feed(user).tell(new HomeFeed.Pushed(item)));
  }

  @Override
  public void removed(Collection<String> users, String postId) {
    users.forEach(user -> feed(user).tell(new HomeFeed.Removed(postId)));
  }

  @Override
  public void hiddenChanged(String user) {
    feed(user).tell(new HomeFeed.HiddenChanged());
  }
}
