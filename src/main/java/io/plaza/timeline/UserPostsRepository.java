package io.plaza.timeline;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `user_posts` read model (projections/user_posts.cql): each author's posts, newest first. */
public interface UserPostsRepository {

  record Post(String postId, String author, long number, String text, Instant createdAt) {}

  /** A change from one event; {@code version} is the event's sequence number (the write timestamp). */
  sealed interface Write {
    long version();
  }

  record Created(String author, long number, String text, Instant at, long version) implements Write {}

  record Deleted(String author, long number, Instant at, long version) implements Write {}

  CompletionStage<Done> apply(List<Write> writes);

  /** When post {@code number} of {@code author} was created (also if deleted since), if the read model has it. */
  CompletionStage<java.util.Optional<Instant>> createdAt(String author, long number);

  /** Up to {@code limit} live posts numbered below {@code before}, newest first. */
  CompletionStage<List<Post>> page(String author, long before, int limit);
}
