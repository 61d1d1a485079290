package io.plaza.timeline;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `home_timeline` read model (projections/home_timeline.cql): each user's pushed feed, newest first. */
public interface HomeTimelineRepository {

  record Item(String postId, String author, String text, Instant createdAt) {}

  /** Puts {@code item} into each of {@code users}' timelines (idempotent: same row, same write timestamp). */
  CompletionStage<Done> insert(Collection<String> users, Item item);

  /** Takes the post out of each of {@code users}' timelines, for good (written at {@code deletedAt}). */
  CompletionStage<Done> remove(Collection<String> users, String postId, Instant createdAt, Instant deletedAt);

  /** Up to {@code limit} items strictly older than the cursor position ({@code null}: from the newest). */
  CompletionStage<List<Item>> page(String user, TimelineCursor before, int limit);

  /** Drops everything older than the {@code keep} newest items. */
  CompletionStage<Done> trim(String user, int keep);
}
