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

  /** The tags whose write progress the journal records for {@code persistenceId}: none for an untagged entity. */
  public static List<String> taggedAs(org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession session,
      String persistenceId) throws Exception {
    return session.selectAll("SELECT tag FROM " + TestNodes.KEYSPACE + ".tag_write_progress WHERE persistence_id = ?",
        persistenceId).toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS)
        .stream().map(row -> row.getString("tag")).toList();
  }

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

  /** {@link #eventually} for assertions that return nothing. */
  public static void eventuallyHolds(Duration within, Runnable assertion) {
    eventually(within, () -> {
      assertion.run();
      return null;
    });
  }

  public static void assertProblem(int status, ApiClient.Response response, String detailFragment) {
    assertEquals(status, response.status(), response.toString());
    assertEquals("application/problem+json", response.contentType(), response.toString());
    var detail = response.json().get("detail").asText();
    assertTrue(detail.contains(detailFragment), "detail '" + detail + "' should mention '" + detailFragment + "'");
    assertEquals(status, response.json().get("status").asInt());
    assertNotNull(response.header("X-Request-Id"));
    // Every problem names its kind with a documented code, and its type is that code's URN.
    var code = response.json().path("code").asText();
    assertTrue(PROBLEM_CODES.contains(code), "'" + code + "' is a documented problem code: " + response);
    assertEquals(ProblemCode.type(code), response.json().path("type").asText(), response.toString());
    assertEquals(ProblemCode.title(code), response.json().path("title").asText(), response.toString());
  }

  /** The same, and the problem's code is {@code code}: what a client acts on. */
  public static void assertProblem(int status, ProblemCode code, ApiClient.Response response, String detailFragment) {
    assertProblem(status, response, detailFragment);
    assertEquals(code.code(), response.json().path("code").asText(), response.toString());
  }

  /** Every code the node answers with (each domain's enum and the common ones). */
  public static final java.util.Set<String> PROBLEM_CODES = java.util.stream.Stream.of(
          ProblemCode.Common.values(), io.plaza.ledger.LedgerProblem.values(), io.plaza.chat.ChatProblem.values(),
          io.plaza.timeline.TimelineProblem.values(), io.plaza.dispatch.DispatchProblem.values())
      .flatMap(java.util.Arrays::stream).map(c -> ((ProblemCode) c).code())
      .collect(java.util.stream.Collectors.toUnmodifiableSet());

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
          if (!record.key().equals(key)) continue;
          var violations = AsyncContract.get().violations(topic, record.value());
          if (!violations.isEmpty()) throw new AssertionError("not as asyncapi.yaml says: " + violations);
          received.add(Json.MAPPER.readTree(record.value()));
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
