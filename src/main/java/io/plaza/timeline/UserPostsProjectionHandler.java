package io.plaza.timeline;

import io.plaza.platform.OrderedDelivery.Sequenced;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/** Keeps `user_posts` up to date: one write per post or deletion, timestamped by the author's sequence number. */
public final class UserPostsProjectionHandler extends Handler<List<EventEnvelope<UserTimeline.Event>>> {

  private final UserPostsRepository repository;

  public UserPostsProjectionHandler(UserPostsRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<UserTimeline.Event>> envelopes) {
    return repository.apply(writesFor(Sequenced.of(envelopes)));
  }

  /** The rows of the events (also delivered by the entity itself, {@link io.plaza.platform.DirectDelivery}). */
  static List<UserPostsRepository.Write> writesFor(List<Sequenced<UserTimeline.Event>> events) {
    var writes = new ArrayList<UserPostsRepository.Write>();
    for (var sequenced : events) {
      if (sequenced.event() instanceof UserTimeline.PostCreated p) {
        writes.add(new UserPostsRepository.Created(p.userId(), p.number(), p.body(), p.at(), sequenced.sequenceNr()));
      } else if (sequenced.event() instanceof UserTimeline.PostDeleted d) {
        writes.add(new UserPostsRepository.Deleted(d.userId(), UserTimeline.numberOf(d.postId()), d.at(),
            sequenced.sequenceNr()));
      }
    }
    return writes;
  }
}
