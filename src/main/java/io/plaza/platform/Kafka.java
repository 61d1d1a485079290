package io.plaza.platform;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.kafka.CommitterSettings;
import org.apache.pekko.kafka.ConsumerMessage;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.ProducerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.kafka.javadsl.Committer;
import org.apache.pekko.kafka.javadsl.Consumer;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.javadsl.RestartSource;

/**
 * The node's one Kafka producer (closed by coordinated shutdown), its consumers' common shape, and creation of the
 * topics Plaza owns.
 */
public final class Kafka {

  private Kafka() {}

  public static KafkaPublisher publisher(ActorSystem<?> system) {
    var settings = ProducerSettings.create(system, new StringSerializer(), new StringSerializer());
    var producer = settings.createKafkaProducer();
    var producerMetrics = Metrics.get(system).kafkaClient(producer);
    var publisher = new KafkaPublisher(producer);
    // Runs after the projections stopped: flushes what they sent, then closes.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "close-kafka-producer", () -> CompletableFuture.supplyAsync(() -> {
          publisher.close();
          closeQuietly(producerMetrics);
          return Done.getInstance();
        }));
    return publisher;
  }

  /**
   * Consumes {@code topic} in consumer group {@code group} for the life of the node: at-least-once (an offset is
   * committed after {@code handle} completed for its record, {@code parallelism} records at a time, in order),
   * restarted with backoff after a failure, and its lag — records behind the end of the partitions this node is
   * assigned — kept in {@code plaza_kafka_consumer_lag{group}}.
   */
  public static void consume(ActorSystem<?> system, String topic, String group, int parallelism,
      Function<String, CompletionStage<Done>> handle) {
    // Each (re)started consumer reports its client metrics; a restart replaces the previous consumer's meters.
    var clientMetrics = new AtomicReference<AutoCloseable>();
    var settings = ConsumerSettings.create(system, new StringDeserializer(), new StringDeserializer())
        .withGroupId(group)
        .withProperty("auto.offset.reset", "earliest")
        .withConsumerFactory(s -> {
          // Built here: the settings' own createKafkaConsumer would call this factory again.
          var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(
              new java.util.HashMap<String, Object>(s.getProperties()), new StringDeserializer(),
              new StringDeserializer());
          closeQuietly(clientMetrics.getAndSet(Metrics.get(system).kafkaClient(consumer)));
          return consumer;
        });
    var control = new AtomicReference<Consumer.Control>();
    RestartSource.onFailuresWithBackoff(
            RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2),
            () -> Consumer.committableSource(settings, Subscriptions.topics(topic))
                .mapMaterializedValue(c -> {
                  control.set(c);
                  return NotUsed.getInstance();
                })
                .mapAsync(parallelism, msg -> handle.apply(msg.record().value())
                    .thenApply(done -> (ConsumerMessage.Committable) msg.committableOffset())))
        .runWith(Committer.sink(CommitterSettings.create(system)), system);

    var lag = new AtomicLong();
    Metrics.get(system).gauge("plaza.kafka.consumer.lag", "records the consumer group is behind, on this node's "
        + "partitions", lag, AtomicLong::get, "group", group);
    system.scheduler().scheduleWithFixedDelay(LAG_INTERVAL, LAG_INTERVAL, () -> {
      var c = control.get();
      if (c != null) c.getMetrics().thenAccept(metrics -> lag.set(recordsLag(metrics)));
    }, system.executionContext());
  }

  private static final Duration LAG_INTERVAL = Duration.ofSeconds(5);

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) return;
    try {
      closeable.close();
    } catch (Exception e) {
      // meters of a closed client: nothing left to release
    }
  }

  /** The sum of the consumer's per-partition {@code records-lag} (NaN until a partition was fetched). */
  static long recordsLag(Map<MetricName, ? extends Metric> metrics) {
    long sum = 0;
    for (var entry : metrics.entrySet()) {
      var name = entry.getKey();
      if (name.name().equals("records-lag") && name.group().equals("consumer-fetch-manager-metrics")
          && name.tags().containsKey("partition") && entry.getValue().metricValue() instanceof Double value
          && !value.isNaN()) {
        sum += value.longValue();
      }
    }
    return sum;
  }

  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  public static void ensureTopics(Config config, List<String> topics, Duration timeout) {
    var kafka = config.getConfig("plaza.kafka");
    try (var admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getString("bootstrap-servers"),
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis()))) {
      var existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      var missing = topics.stream().filter(t -> !existing.contains(t))
          .map(t -> new NewTopic(t, kafka.getInt("topic-partitions"), (short) kafka.getInt("topic-replication")))
          .toList();
      if (missing.isEmpty()) return;
      try {
        admin.createTopics(missing).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e; // another node was faster
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot create Kafka topics " + topics, e);
    }
  }
}
