package io.plaza.timeline;

import io.plaza.platform.TimeIdCursor;
import java.time.Instant;
import java.util.Comparator;

/**
 * A position in a home timeline: the creation time and id of the last item a page returned. The next page holds the
 * items strictly after it in (created desc, post id desc) order, so posts arriving meanwhile (newer) never shift it:
 * no duplicates, no gaps. Opaque to clients (base64url).
 */
public record TimelineCursor(Instant createdAt, String postId) {

  /** Newest first; ties broken by post id, descending. */
  public static final Comparator<HomeTimelineRepository.Item> NEWEST_FIRST = Comparator
      .comparing(HomeTimelineRepository.Item::createdAt).thenComparing(HomeTimelineRepository.Item::postId)
      .reversed();

  public static TimelineCursor after(HomeTimelineRepository.Item item) {
    return new TimelineCursor(item.createdAt(), item.postId());
  }

  /** Is {@code item} after this position (older, or as old with a smaller id)? */
  public boolean isBefore(HomeTimelineRepository.Item item) {
    int byTime = item.createdAt().compareTo(createdAt);
    return byTime < 0 || (byTime == 0 && item.postId().compareTo(postId) < 0);
  }

  public String encode() {
    return new TimeIdCursor(createdAt, postId).encode();
  }

  /** The cursor, or null if {@code text} is not one this server made. */
  public static TimelineCursor decode(String text) {
    var cursor = TimeIdCursor.decode(text, id -> UserTimeline.authorOf(id) != null);
    return cursor == null ? null : new TimelineCursor(cursor.at(), cursor.id());
  }
}
