package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** What the integration tests share: polling for eventual consistency, problem+json checks, reading a topic. */
public final class ItSupport {

  private ItSupport() {}

  /** Retries {@code attempt} until it stops throwing AssertionError or {@code within} is over. */
  public static <T> T eventually(Duration within, Supplier<T> attempt) {
    long deadline = System.nanoTime() + within.toNanos();
    AssertionError last = null;
    while (System.nanoTime() < deadline) {
      try {
        return attempt.get();
      } catch (AssertionError e) {
        last = e;
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
    throw last != null ? last : new AssertionError("timed out");
  }

  public static void assertProblem(int status, ApiClient.Response response, String detailFragment) {
    assertEquals(status, response.status(), response.toString());
    assertEquals("application/problem+json", response.contentType(), response.toString());
    var detail = response.json().get("detail").asText();
    assertTrue(detail.contains(detailFragment), "detail '" + detail + "' should mention '" + detailFragment + "'");
    assertEquals(status, response.json().get("status").asInt());
    assertNotNull(response.header("X-Request-Id"));
  }

  /**
   * Reads {@code topic} from the beginning until {@code expected} messages with key {@code key} arrived or
   * {@code within} is over, then reads one more second to catch any extra (duplicate) message.
   */
  public static List<JsonNode> readTopic(String topic, String key, int expected, Duration within) {
    var props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + TestNodes.KAFKA_PORT);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    var received = new ArrayList<JsonNode>();
    try (var consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + within.toNanos();
      long extraUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, extraUntil)) {
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          if (record.key().equals(key)) received.add(Json.MAPPER.readTree(record.value()));
        }
        if (received.size() >= expected && extraUntil == Long.MAX_VALUE) {
          extraUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return received;
  }
}
