package io.plaza.ledger;

import io.plaza.platform.Json;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.pekko.Done;
import org.apache.pekko.kafka.javadsl.SendProducer;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Publishes account events to Kafka, keyed by account id so each account's events stay ordered in one partition.
 * At-least-once: after a crash a group may be sent again; consumers dedupe on (accountId, sequenceNr).
 */
public final class AccountEventsKafkaProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private final SendProducer<String, String> producer;
  private final String topic;

  public AccountEventsKafkaProjectionHandler(SendProducer<String, String> producer, String topic) {
    this.producer = producer;
    this.topic = topic;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    // Sent in order on one idempotent producer: per-partition order is kept even with retries.
    var sends = envelopes.stream()
        .map(env -> producer.send(new ProducerRecord<>(topic, env.event().accountId(),
            Json.write(AccountEventMessage.of(env.event(), env.sequenceNr())))).toCompletableFuture())
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(sends).thenApply(v -> Done.getInstance());
  }
}
