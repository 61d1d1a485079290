package io.plaza.platform;

import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Publishes a group of events to one Kafka topic as JSON contract messages, keyed by entity id so each entity's
 * events stay ordered in one partition. At-least-once: after a crash a group may be sent again, so consumers dedupe
 * on (entity id, sequenceNr), which every contract message carries.
 */
public final class KafkaProjectionHandler<E> extends Handler<List<EventEnvelope<E>>> {

  private final KafkaPublisher publisher;
  private final String topic;
  private final Function<E, String> key;
  private final BiFunction<E, Long, Object> message;

  /** @param message the public contract message of an event and its sequence number; null: not published */
  public KafkaProjectionHandler(KafkaPublisher publisher, String topic, Function<E, String> key,
      BiFunction<E, Long, Object> message) {
    this.publisher = publisher;
    this.topic = topic;
    this.key = key;
    this.message = message;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<E>> envelopes) {
    return publish(OrderedDelivery.Sequenced.of(envelopes));
  }

  /** The events' contract messages, in order (also for an entity that delivers its own events). */
  public CompletionStage<Done> publish(List<OrderedDelivery.Sequenced<E>> events) {
    var records = new java.util.ArrayList<ProducerRecord<String, String>>();
    for (var sequenced : events) {
      var value = message.apply(sequenced.event(), sequenced.sequenceNr());
      if (value != null) records.add(new ProducerRecord<>(topic, key.apply(sequenced.event()), Json.write(value)));
    }
    return publisher.publish(records);
  }
}
