package io.plaza.timeline;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * The public contract of topic `plaza.timeline.posts` (projections/timeline-posts-kafka.md): posts created and deleted,
 * keyed by author. Versioned apart from the journal events; fields are only ever added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TimelinePostMessage(
    int schemaVersion,
    String type,
    String author,
    long sequenceNr,
    Instant occurredAt,
    String postId,
    long number,
    String text,
    Integer authorFollowers) {

  public static final int SCHEMA_VERSION = 1;

  /** The message of a post event, or null for the user's other events (not published). */
  public static TimelinePostMessage of(UserTimeline.Event event, long sequenceNr) {
    if (event instanceof UserTimeline.PostCreated e) {
      return new TimelinePostMessage(SCHEMA_VERSION, "PostCreated", e.userId(), sequenceNr, e.at(), e.postId(),
          e.number(), e.body(), e.followers());
    }
    if (event instanceof UserTimeline.PostDeleted e) {
      return new TimelinePostMessage(SCHEMA_VERSION, "PostDeleted", e.userId(), sequenceNr, e.at(), e.postId(),
          UserTimeline.numberOf(e.postId()), null, null);
    }
    return null;
  }
}
