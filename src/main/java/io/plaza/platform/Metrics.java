package io.plaza.platform;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The node's metrics: one Micrometer registry per ActorSystem, scraped in the Prometheus text format at
 * {@code GET /metrics} on the management port ({@link MetricsRoutes}). Every meter is per node; Prometheus sums
 * over the cluster. Labels are low-cardinality on purpose (entity type, endpoint, projection, status), never ids.
 */
public final class Metrics implements Extension {

  /** The Pekko extension id: {@code Metrics.get(system)}. */
  public static final class Id extends ExtensionId<Metrics> {
    @Override
    public Metrics createExtension(ActorSystem<?> system) {
      var metrics = new Metrics();
      // The GC binder registers JMX notification listeners: release them (and the registry) with the system, or
      // every ActorSystem of a JVM (tests start many) leaves its listeners behind.
      system.getWhenTerminated().thenRun(metrics::close);
      return metrics;
    }
  }

  private static final Id ID = new Id();

  public static Metrics get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, AtomicInteger> webSockets = new ConcurrentHashMap<>();
  // Hot paths (every journal write, every request) find their meters here instead of building an id each time.
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

  private final JvmGcMetrics gc = new JvmGcMetrics();

  private Metrics() {
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    // Libraries that report to Micrometer's global registry (the Cassandra driver) reach /metrics through it.
    io.micrometer.core.instrument.Metrics.addRegistry(registry);
  }

  private void close() {
    io.micrometer.core.instrument.Metrics.removeRegistry(registry);
    gc.close();
    registry.close();
  }

  /** A Kafka client's own metrics (records sent and consumed, errors, latencies) as {@code kafka_*}. */
  public AutoCloseable kafkaClient(org.apache.kafka.clients.producer.Producer<?, ?> producer) {
    var binder = new io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics(producer);
    binder.bindTo(registry);
    return binder;
  }

  public AutoCloseable kafkaClient(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer) {
    var binder = new io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics(consumer);
    binder.bindTo(registry);
    return binder;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Everything, in the Prometheus text exposition format. */
  public String scrape() {
    return registry.scrape();
  }

  /** A latency timer with a histogram Prometheus can take quantiles from (1 ms to 30 s). */
  private Timer latency(String name, String description, String... tags) {
    return timers.computeIfAbsent(name + String.join("|", tags), k -> Timer.builder(name).description(description)
        .tags(tags).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry));
  }

  private Counter counter(String name, String description, String... tags) {
    return counters.computeIfAbsent(name + String.join("|", tags), k -> Counter.builder(name).description(description)
        .tags(tags).register(registry));
  }

  // --- read paths ---------------------------------------------------------------------------------------------

  /**
   * {@code target}, counting each call as one Cassandra statement issued on behalf of {@code path}
   * ({@code plaza_read_path_statements_total{path}}): what a request costs, told apart from the background work that
   * shares its tables (for the repositories whose every method is one statement).
   */
  public <T> T countingStatements(Class<T> type, T target, String path) {
    var statements = counter("plaza.read.path.statements", "Cassandra statements issued on behalf of a read path",
        "path", path);
    return type.cast(java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> {
          if (method.getDeclaringClass() != Object.class) statements.increment();
          try {
            return method.invoke(target, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        }));
  }

  /** {@code plaza_timeline_home_reads_total{from}}: home-timeline pages served from memory or from the tables. */
  public void homeRead(String from) {
    counter("plaza.timeline.home.reads", "home-timeline pages served", "from", from).increment();
  }

  /** {@code plaza_dispatch_pings_total}: driver location pings handed to their driver entity. */
  public Counter dispatchPings() {
    return counter("plaza.dispatch.pings", "driver location pings received over WebSockets");
  }

  // --- entities -----------------------------------------------------------------------------------------------

  /**
   * {@code behavior}, counting each command (a message of {@code commandClass}) it receives as
   * {@code plaza_entity_commands_total{entity}}. The entity's internal messages (journal replies) are not counted.
   */
  public <C> Behavior<C> countingCommands(String entityType, Class<C> commandClass, Behavior<C> behavior) {
    var commands = counter("plaza.entity.commands", "commands received by entities", "entity", entityType);
    return Behaviors.intercept(() -> new CommandCounter<>(commandClass, commands), behavior);
  }

  /** A sharded entity type whose entities count their commands ({@link #countingCommands}). */
  public <C> Entity<C, ShardingEnvelope<C>> entity(EntityTypeKey<C> key, Class<C> commandClass,
      Function<EntityContext<C>, Behavior<C>> create) {
    return Entity.of(key, ctx -> countingCommands(key.name(), commandClass, create.apply(ctx)));
  }

  private static final class CommandCounter<C> extends BehaviorInterceptor<C, C> {
    private final Counter commands;

    CommandCounter(Class<C> commandClass, Counter commands) {
      super(commandClass);
      this.commands = commands;
    }

    @Override
    public Behavior<C> aroundReceive(TypedActorContext<C> ctx, C msg, ReceiveTarget<C> target) {
      if (!(msg instanceof GroupCommit.Written)) commands.increment();
      return target.apply(ctx, msg);
    }

    @Override
    public boolean isSame(BehaviorInterceptor<Object, Object> other) {
      return other instanceof CommandCounter<?> c && c.commands == commands;
    }
  }

  /**
   * One journal write of {@code events} events by an entity of {@code entityType}: counted as
   * {@code plaza_entity_events_persisted_total{entity}} when it succeeded, timed as
   * {@code plaza_entity_persist_seconds{entity,outcome}} (from the write request to the journal's answer, which for
   * a tagged event includes its tag write).
   */
  public void journalWrite(String entityType, int events, long nanos, boolean succeeded) {
    latency("plaza.entity.persist", "journal write latency per write request", "entity", entityType,
        "outcome", succeeded ? "ok" : "failed").record(nanos, TimeUnit.NANOSECONDS);
    if (succeeded) {
      counter("plaza.entity.events.persisted", "events written to the journal", "entity", entityType)
          .increment(events);
    }
  }

  // --- HTTP and WebSockets --------------------------------------------------------------------------------------

  /**
   * {@code plaza_http_responses_total{method,route,status}} and
   * {@code plaza_http_request_seconds{method,route,status}}; {@code route} is the matched endpoint's template
   * ({@code /v1/accounts/{id}}), "unmatched" for unknown paths.
   */
  public void httpResponse(String method, String route, int status, long nanos) {
    var statusTag = String.valueOf(status);
    counter("plaza.http.responses", "HTTP responses by route and status", "method", method, "route", route,
        "status", statusTag).increment();
    latency("plaza.http.request", "HTTP request latency (to the response head)", "method", method, "route", route,
        "status", statusTag).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** {@code flow} as one WebSocket connection of {@code endpoint}, counted in {@code plaza_websocket_connections}. */
  public <M> Flow<Message, Message, M> webSocketConnection(String endpoint, Flow<Message, Message, M> flow) {
    var open = webSockets.computeIfAbsent(endpoint, e -> {
      var counter = new AtomicInteger();
      Gauge.builder("plaza.websocket.connections", counter, AtomicInteger::get)
          .description("open WebSocket connections").tag("endpoint", e).register(registry);
      return counter;
    });
    return flow.watchTermination((mat, done) -> {
      open.incrementAndGet();
      done.whenComplete((d, e) -> open.decrementAndGet());
      return mat;
    });
  }

  // --- projections and consumers --------------------------------------------------------------------------------

  /**
   * {@code plaza_projection_lag_seconds{projection}}: from an event's write to its handling by a projection. The
   * caller keeps the timer (one lookup per projection instance, not per envelope).
   */
  public Timer projectionLag(String projection) {
    return latency("plaza.projection.lag", "time from an event's write to its projection handler", "projection",
        projection);
  }

  /** A gauge {@code name{tags}} read from {@code source} at each scrape. */
  public <T> void gauge(String name, String description, T source, ToDoubleFunction<T> value, String... tags) {
    Gauge.builder(name, source, value).description(description).tags(tags).strongReference(true)
        .register(registry);
  }
}
