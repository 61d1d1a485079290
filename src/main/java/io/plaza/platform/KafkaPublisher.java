package io.plaza.platform;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.pekko.Done;

/**
 * Publishes records in exactly the order given. pekko-connectors' SendProducer schedules each send on a Future, which
 * can reorder two sends of the same key; here every record goes to the (thread-safe, idempotent) Kafka producer
 * synchronously, in order, and only the acknowledgements are awaited asynchronously.
 */
public final class KafkaPublisher {

  private final Producer<String, String> producer;

  public KafkaPublisher(Producer<String, String> producer) {
    this.producer = producer;
  }

  public CompletionStage<Done> publish(List<ProducerRecord<String, String>> records) {
    var acks = new CompletableFuture<?>[records.size()];
    for (int i = 0; i < records.size(); i++) {
      var ack = new CompletableFuture<Void>();
      producer.send(records.get(i), (metadata, error) -> {
        if (error == null) ack.complete(null);
        else ack.completeExceptionally(error);
      });
      acks[i] = ack;
    }
    // The acks complete on the producer's network thread: what runs next (another handler, another send) must not
    // run there, or a send that needs metadata for a topic this producer has not used yet blocks the very thread
    // that would fetch it — until max.block.ms (found with two topics published by one projection).
    return CompletableFuture.allOf(acks).thenApplyAsync(v -> Done.getInstance(), ForkJoinPool.commonPool());
  }

  void close() {
    producer.close(java.time.Duration.ofSeconds(10));
  }
}
