package io.plaza.platform;

import com.typesafe.config.Config;
import io.plaza.chat.Chat;
import io.plaza.dispatch.Dispatch;
import io.plaza.ledger.Ledger;
import io.plaza.timeline.Timeline;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Plaza node: ActorSystem, cluster membership, management (/alive, /ready), schema, Kafka topics, every domain,
 * and the HTTP API. Used by {@code Main}, by the integration tests and by the benchmark.
 */
public final class PlazaNode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PlazaNode.class);
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final int managementPort;
  private final java.util.List<Endpoint> endpoints;

  private PlazaNode(ActorSystem<Void> system, ServerBinding binding, int managementPort,
      java.util.List<Endpoint> endpoints) {
    this.system = system;
    this.binding = binding;
    this.managementPort = managementPort;
    this.endpoints = endpoints;
  }

  public static PlazaNode start(Config config) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "Plaza", config);
    try {
      return start(system);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  private static PlazaNode start(ActorSystem<Void> system) {
    var config = system.settings().config();
    var management = PekkoManagement.get(system).start().toCompletableFuture().join();
    joinCluster(system, config);

    var cql = Cassandra.underlying(system, STARTUP_TIMEOUT);
    if (config.getBoolean("plaza.cassandra.create-schema")) {
      await(CassandraSchema.create(cql, config));
    }
    var topics = new ArrayList<>(Ledger.kafkaTopics(config));
    topics.addAll(Chat.kafkaTopics(config));
    topics.addAll(Timeline.kafkaTopics(config));
    topics.addAll(Dispatch.kafkaTopics(config));
    Kafka.ensureTopics(config, topics, Duration.ofSeconds(30));
    var kafka = Kafka.publisher(system);
    var session = Cassandra.session(system);

    var http = config.getConfig("plaza.http");
    var askTimeout = http.getDuration("ask-timeout");
    var auth = JwtAuth.fromConfig(config);
    var endpoints = new ArrayList<>(PlatformRoutes.endpoints(config, auth));
    var tickets = StreamTickets.init(system, http.getDuration("stream-ticket-ttl"), askTimeout);
    endpoints.add(tickets.endpoint());
    endpoints.add(OpsOverview.endpoint(system, Admins.fromConfig(config)));
    OpsOverview.registerClusterGauges(system);
    endpoints.addAll(Ledger.start(system, session, kafka, askTimeout));
    endpoints.addAll(Chat.start(system, session, kafka, askTimeout));
    endpoints.addAll(Timeline.start(system, session, kafka, askTimeout));
    endpoints.addAll(Dispatch.start(system, session, kafka, askTimeout));

    var limits = http.getConfig("rate-limit");
    var rateLimiter = new RateLimiter(limits.getLong("requests-per-second"), limits.getLong("burst"));
    system.scheduler().scheduleAtFixedRate(Duration.ofMinutes(1), Duration.ofMinutes(1), rateLimiter::evictIdle,
        system.executionContext());

    var api = new HttpApi(endpoints, auth, tickets::redeem, BrowserAccess.fromConfig(config), rateLimiter,
        Metrics.get(system));
    var binding = await(Http.get(system).newServerAt(http.getString("interface"), http.getInt("port"))
        .bind(api.route()))
        .addToCoordinatedShutdown(http.getDuration("shutdown-deadline"), system);
    var mgmtPort = management.getPort();
    ShardingReadinessCheck.markStarted(system);
    log.info("Plaza node up: API on http://{}:{}/v1, management on http://{}:{} (/alive, /ready)",
        binding.localAddress().getHostString(), binding.localAddress().getPort(), management.getHost(), mgmtPort);
    return new PlazaNode(system, binding, mgmtPort, api.endpoints());
  }

  private static void joinCluster(ActorSystem<?> system, Config config) {
    var cluster = Cluster.get(system);
    if (config.getBoolean("plaza.cluster.bootstrap")) {
      ClusterBootstrap.get(system).start();
    } else if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()
        && config.getBoolean("plaza.cluster.join-self")) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("node startup failed", e);
    }
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public int httpPort() {
    return binding.localAddress().getPort();
  }

  /** Every operation this node serves (what the OpenAPI document must describe). */
  public java.util.List<Endpoint> endpoints() {
    return endpoints;
  }

  public int managementPort() {
    return managementPort;
  }

  /** Graceful stop through coordinated shutdown: unbind, drain, leave the cluster, close the producer. */
  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("node did not terminate within 60 s", e);
    }
  }
}
