package io.plaza.timeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Schema history of {@link UserTimeline.PostCreated} (Pekko's two-step "forward-one" rule for a rolling upgrade):
 * <ul>
 *   <li>version 1: the post's text in {@code text};</li>
 *   <li>version 2: the field is named {@code body}, as in chat's {@code MessagePosted}.</li>
 * </ul>
 * Release 0.2.0 wrote version 1 and already read version 2 (down-cast); this release writes version 2 and reads
 * version 1 (up-cast). So in a rolling upgrade from 0.2.0 both sides read what the other persists, and the journal
 * keeps every version-1 event readable for ever.
 */
public final class PostCreatedMigration extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public int supportedForwardVersion() {
    return 2;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    if (fromVersion == 1 && json instanceof ObjectNode event && event.has("text")) {
      event.set("body", event.remove("text"));
    }
    return json;
  }
}
