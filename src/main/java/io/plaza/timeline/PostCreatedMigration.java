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
 * This release still WRITES version 1, and already READS version 2 (down-cast to version 1), so that during the
 * rolling upgrade to the release that writes version 2, the nodes not yet upgraded read what the new ones persist.
 */
public final class PostCreatedMigration extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 1;
  }

  @Override
  public int supportedForwardVersion() {
    return 2;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    if (fromVersion == 2 && json instanceof ObjectNode event && event.has("body")) {
      event.set("text", event.remove("body"));
    }
    return json;
  }
}
