package io.plaza.platform;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.kafka.ProducerSettings;

/** The node's one Kafka producer (closed by coordinated shutdown) and creation of the topics Plaza owns. */
public final class Kafka {

  private Kafka() {}

  public static KafkaPublisher publisher(ActorSystem<?> system) {
    var settings = ProducerSettings.create(system, new StringSerializer(), new StringSerializer());
    var publisher = new KafkaPublisher(settings.createKafkaProducer());
    // Runs after the projections stopped: flushes what they sent, then closes.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "close-kafka-producer", () -> CompletableFuture.supplyAsync(() -> {
          publisher.close();
          return Done.getInstance();
        }));
    return publisher;
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
