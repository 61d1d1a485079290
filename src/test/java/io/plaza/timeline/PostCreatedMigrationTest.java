package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.time.Instant;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The journal's view of PostCreated through the configured serializer: what this release writes and reads. */
class PostCreatedMigrationTest {

  // The node's serialization settings (bindings and migrations), nothing else.
  private static final ActorTestKit testKit = ActorTestKit.create(
      com.typesafe.config.ConfigFactory.parseResources("serialization.conf").withFallback(
          com.typesafe.config.ConfigFactory.defaultReference()));
  private static final String CLASS = UserTimeline.PostCreated.class.getName();
  private static final Instant AT = Instant.parse("2026-12-03T12:00:00Z");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static org.apache.pekko.serialization.Serialization serialization() {
    return SerializationExtension.get(testKit.system().classicSystem());
  }

  /** Bytes as the release that writes {@code version} puts them in the journal: CBOR of those fields. */
  private static byte[] cbor(Map<String, Object> fields) throws Exception {
    return new CBORMapper().writeValueAsBytes(fields);
  }

  private static Map<String, Object> fields(String textField) {
    return Map.of("userId", "ann", "postId", "ann:7", "number", 7, textField, "hello", "followers", 3,
        "at", AT.toString());
  }

  @Test
  void readsThePostsOfVersionOneReleasesWithTheirTextAsBody() throws Exception {
    var serializer = serialization().serializerFor(UserTimeline.PostCreated.class);
    var expected = new UserTimeline.PostCreated("ann", "ann:7", 7, "hello", null, 3, AT, null);
    // As 0.2.0 wrote them ("#1"), and as releases before any migration did (no version in the manifest).
    assertEquals(expected, serialization().deserialize(cbor(fields("text")), serializer.identifier(), CLASS + "#1")
        .get());
    assertEquals(expected, serialization().deserialize(cbor(fields("text")), serializer.identifier(), CLASS).get());
  }

  @Test
  void writesAndReadsVersionTwo() throws Exception {
    var event = new UserTimeline.PostCreated("ann", "ann:7", 7, "hello", "key-1", 3, AT, null);
    var serializer = serialization().findSerializerFor(event);
    assertEquals(CLASS + "#2", Serializers.manifestFor(serializer, event), "this release writes version 2");
    var bytes = serializer.toBinary(event);
    assertEquals("hello", new CBORMapper().readTree(bytes).get("body").asText());
    assertEquals(event, serialization().deserialize(bytes, serializer.identifier(), CLASS + "#2").get());
  }
}
