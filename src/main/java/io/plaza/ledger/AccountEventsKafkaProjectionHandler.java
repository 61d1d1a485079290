package io.plaza.ledger;

import io.plaza.platform.Json;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.pekko.Done;
import io.plaza.platform.KafkaPublisher;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Publishes account events to Kafka, keyed by account id so each account's events stay ordered in one partition.
 * At-least-once: after a crash a group may be sent again; consumers dedupe on (accountId, sequenceNr).
 */
public final class AccountEventsKafkaProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private final KafkaPublisher publisher;
  private final String topic;

  public AccountEventsKafkaProjectionHandler(KafkaPublisher publisher, String topic) {
    this.publisher = publisher;
    this.topic = topic;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    return publisher.publish(envelopes.stream()
        .map(env -> new ProducerRecord<>(topic, env.event().accountId(),
            Json.write(AccountEventMessage.of(env.event(), env.sequenceNr()))))
        .toList());
  }
}
