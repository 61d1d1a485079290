package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** What follows a publish never runs on the thread that completes the producer's acks (its network thread). */
class KafkaPublisherTest {

  @Test
  void whatFollowsAPublishRunsOffTheThreadThatAcknowledgedIt() throws Exception {
    var producer = new MockProducer<>(false, new StringSerializer(), new StringSerializer());
    var publisher = new KafkaPublisher(producer);
    var next = new CompletableFuture<Thread>();
    publisher.publish(List.of(new ProducerRecord<>("a", "k", "v")))
        .thenRun(() -> next.complete(Thread.currentThread()));
    // MockProducer runs the ack callback on the thread that completes the send, as the real one runs it on its
    // network thread: had the next step run there, a send needing new topic metadata would block that thread.
    var acknowledging = new CompletableFuture<Thread>();
    var acker = new Thread(() -> {
      acknowledging.complete(Thread.currentThread());
      producer.completeNext();
    });
    acker.start();
    acker.join();
    assertNotSame(acknowledging.get(), next.get(5, TimeUnit.SECONDS));
    assertEquals(1, producer.history().size());
  }
}
