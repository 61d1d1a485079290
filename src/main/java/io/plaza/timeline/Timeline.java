package io.plaza.timeline;

import io.plaza.platform.DirectDelivery;
import io.plaza.platform.Endpoint;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.KafkaPublisher;
import io.plaza.platform.Metrics;
import io.plaza.platform.SameRelease;
import io.plaza.platform.TaggedProjections;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Wires the timeline domain into a node: the sharded user timelines, their projections and routes. */
public final class Timeline {

  private Timeline() {}

  public static List<String> kafkaTopics(com.typesafe.config.Config config) {
    return List.of(config.getString("plaza.timeline.posts-topic"));
  }

  public static List<Endpoint> start(ActorSystem<?> system, CassandraSession session, KafkaPublisher kafka,
      Duration askTimeout) {
    var root = system.settings().config();
    var config = root.getConfig("plaza.timeline");
    // Half the route's timeout: a follow whose followee is slow still answers (202 Pending) before the route gives up.
    var settings = UserTimeline.Settings.fromConfig(config, askTimeout.dividedBy(2));
    var sharding = ClusterSharding.get(system);
    var keyspace = root.getString("plaza.cassandra.keyspace");
    int groupSize = config.getInt("projection-group-size");
    var groupWithin = config.getDuration("projection-group-within");
    var posts = new CassandraUserPostsRepository(session, keyspace);
    var follows = new CassandraFollowsRepository(session, keyspace);
    var homeTimelines = new CassandraHomeTimelineRepository(session, keyspace);
    // The home read's own statements are counted (plaza_read_path_statements_total{path="home-timeline"}), apart from
    // the fan-out's and the projections' on the same tables.
    var metrics = Metrics.get(system);
    var homeRows = metrics.countingStatements(HomeTimelineRepository.class, homeTimelines, "home-timeline");
    var homeFollows = metrics.countingStatements(FollowsRepository.class, follows, "home-timeline");
    var homePosts = metrics.countingStatements(UserPostsRepository.class, posts, "home-timeline");
    var sameRelease = new SameRelease(system);
    var feeds = HomeFeed.init(system, homeRows, homeFollows, HomeFeed.Settings.fromConfig(config), sameRelease);
    var topic = config.getString("posts-topic");
    var followsHandler = new FollowsProjectionHandler(follows, config.getInt("celebrity-threshold"),
        feeds::hiddenChanged);
    // The entity delivers its events itself once every node runs this release (see EntityDelivery): the read models,
    // then Kafka, whose consumer (the fan-out) thus finds a post's user_posts row and every follow confirmed before it
    // already written.
    boolean byEntity = config.getBoolean("delivered-by-entity");
    var delivery = new DirectDelivery<UserTimeline.Event>(system, UserTimeline.ENTITY_KEY.name(),
        () -> byEntity && sameRelease.getAsBoolean(), List.of(
            events -> posts.apply(UserPostsProjectionHandler.writesFor(events)), followsHandler::apply),
        postsTopic(kafka, topic), UserTimeline.Event::at, metrics.projectionLag("timeline-users-by-entity"));
    sharding.init(metrics.entity(UserTimeline.ENTITY_KEY, UserTimeline.Command.class,
        ctx -> UserTimeline.create(ctx.getEntityId(), settings, Clock.systemUTC(),
            user -> sharding.entityRefFor(UserTimeline.ENTITY_KEY, user), delivery)));
    // One projection feeds both read models and then Kafka, for the tagged events (see TaggedProjections).
    TaggedProjections.<UserTimeline.Event>start(system, session, "timeline-users",
        List.of("timeline-user-posts", "timeline-follows", "timeline-posts-kafka"), UserTimeline.TAGS, groupSize,
        groupWithin, List.of(
            tag -> new UserPostsProjectionHandler(posts),
            tag -> followsHandler,
            tag -> postsTopic(kafka, topic)), TaggedProjections.readJournal(byEntity));
    var policy = FanoutPolicy.fromConfig(config);
    var streamTopic = system.systemActorOf(Topic.create(TimelineStream.Update.class, TimelineStream.TOPIC),
        "timeline-stream-topic", Props.empty());
    var relay = system.systemActorOf(TimelineStream.relay(streamTopic), "timeline-stream-relay", Props.empty());
    // One per node, shared by the fan-out and the home reads (each fills it for the other).
    var activity = new KnownActivity(follows, config.getLong("known-activity-users"));
    new TimelineFanout(system, follows, activity, posts, homeTimelines, feeds, policy, config.getInt("fanout-page-size"),
        config.getInt("home-size"), Clock.systemUTC(), update -> streamTopic.tell(Topic.publish(update)))
        .start(topic, config.getString("fanout-consumer-group"));
    var home = new HomeTimeline(homeRows, feeds, homePosts, homeFollows, activity, policy,
        settings.activityResolution(),
        user -> sharding.entityRefFor(UserTimeline.ENTITY_KEY, user)
            .tell(new UserTimeline.RecordActivity(system.ignoreRef())),
        user -> sharding.entityRefFor(UserTimeline.ENTITY_KEY, user)
            .<UserTimeline.Reply>ask(UserTimeline.RecordActivity::new, settings.askTimeout())
            .thenApply(reply -> reply instanceof UserTimeline.Activity recorded ? recorded.following() : null),
        Clock.systemUTC(), metrics::homeRead);
    return new TimelineRoutes(system, posts, follows, home, relay, askTimeout).endpoints();
  }

  /** The post events' contract messages on {@code plaza.timeline.posts}, keyed by author. */
  private static KafkaProjectionHandler<UserTimeline.Event> postsTopic(KafkaPublisher kafka, String topic) {
    return new KafkaProjectionHandler<>(kafka, topic, UserTimeline.Event::userId, TimelinePostMessage::of);
  }
}
