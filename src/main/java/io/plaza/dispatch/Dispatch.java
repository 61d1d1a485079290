package io.plaza.dispatch;

import io.plaza.platform.Endpoint;
import io.plaza.platform.KafkaProjectionHandler;
import io.plaza.platform.KafkaPublisher;
import io.plaza.platform.Metrics;
import io.plaza.platform.TaggedProjections;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Wires the dispatch domain into a node: drivers, rides, the cell index, their projections, routes and sockets. */
public final class Dispatch {

  private Dispatch() {}

  public static List<String> kafkaTopics(com.typesafe.config.Config config) {
    return List.of(config.getString("plaza.dispatch.rides-topic"));
  }

  public static List<Endpoint> start(ActorSystem<?> system, CassandraSession session, KafkaPublisher kafka,
      Duration askTimeout) {
    var root = system.settings().config();
    var config = root.getConfig("plaza.dispatch");
    var clock = Clock.systemUTC();
    var cells = new H3Cells(config.getInt("h3-resolution"));
    var scorer = DispatchScorer.fromConfig(config);
    var sharding = ClusterSharding.get(system);
    var staleAfter = config.getDuration("driver-stale-after");
    var surge = SurgePricing.fromConfig(config);
    var metrics = Metrics.get(system);
    sharding.init(metrics.entity(DispatchCell.ENTITY_KEY, DispatchCell.Command.class,
        ctx -> DispatchCell.create(surge, staleAfter, clock)));
    // Entities ask each other with half the route's timeout, so the route still answers with their verdict.
    var innerAsk = askTimeout.dividedBy(2);
    var driverSettings = Driver.Settings.fromConfig(config, innerAsk);
    sharding.init(metrics.entity(Driver.ENTITY_KEY, Driver.Command.class,
        ctx -> Driver.create(ctx.getEntityId(), driverSettings, cells, clock,
        ride -> sharding.entityRefFor(Ride.ENTITY_KEY, ride),
        cell -> sharding.entityRefFor(DispatchCell.ENTITY_KEY, cell))));
    var ridesTopic = system.systemActorOf(Topic.create(Ride.Update.class, RiderRelay.TOPIC), "dispatch-rides-topic",
        Props.empty());
    var rideSettings = Ride.Settings.fromConfig(config, innerAsk);
    var activeRides = ActiveRides.registeredIn(metrics);
    sharding.init(metrics.entity(Ride.ENTITY_KEY, Ride.Command.class,
        ctx -> Ride.create(ctx.getEntityId(), rideSettings, cells, scorer, clock,
            driver -> sharding.entityRefFor(Driver.ENTITY_KEY, driver),
            cell -> sharding.entityRefFor(DispatchCell.ENTITY_KEY, cell),
            update -> ridesTopic.tell(Topic.publish(update)),
            self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)), activeRides))
        // A ride in flight restarts wherever its shard lands after a crash: its offer deadline must fire.
        .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));

    var keyspace = root.getString("plaza.cassandra.keyspace");
    int groupSize = config.getInt("projection-group-size");
    var groupWithin = config.getDuration("projection-group-within");
    var trips = new CassandraTripsRepository(session, keyspace);
    var topic = config.getString("rides-topic");
    // One projection feeds the trips read model and then Kafka (see TaggedProjections).
    TaggedProjections.<Ride.Event>start(system, session, "dispatch-rides", List.of("dispatch-trips",
        "dispatch-rides-kafka"), Ride.TAGS, groupSize, groupWithin, List.of(
            tag -> new TripsProjectionHandler(trips),
            tag -> new KafkaProjectionHandler<>(kafka, topic, Ride.Event::rideId, RideMessage::of)));

    var relay = system.systemActorOf(RiderRelay.create(ridesTopic), "dispatch-rider-relay", Props.empty());
    return new DispatchRoutes(system, cells, Fares.fromConfig(config), scorer, trips,
        new DriverSocket(system, askTimeout), new RiderSocket(system, relay), askTimeout).endpoints();
  }
}
