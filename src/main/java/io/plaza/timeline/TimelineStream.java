package io.plaza.timeline;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Json;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Live home-timeline updates. The fan-out publishes every post and deletion ONCE to a cluster-wide topic; each node's
 * relay hands it to its own open streams of the users who follow the author (or are the author), unless they mute or
 * block them. Celebrities' posts travel the same way, so online users see them live although they are never copied
 * into rows. A stream knows whom its user follows as of when it connected.
 */
public final class TimelineStream {

  public static final String TOPIC = "timeline-stream";

  /** What the topic carries: a post created ({@code text} and {@code createdAt} set) or deleted. */
  @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  public record Update(String type, String postId, String author, String text, Instant createdAt)
      implements CborSerializable {}

  public sealed interface Command extends CborSerializable {}

  /** An open stream of {@code user}: it receives JSON strings. */
  public record Open(ActorRef<String> stream, String user, Set<String> following, Set<String> hidden)
      implements Command {}

  private record Closed(ActorRef<String> stream) implements Command {}

  private record Published(Update update) implements Command {}

  private TimelineStream() {}

  /** The node's relay: subscribes to the topic and indexes local streams by the authors they follow. */
  public static Behavior<Command> relay(ActorRef<Topic.Command<Update>> topic) {
    return Behaviors.setup(ctx -> {
      var adapter = ctx.messageAdapter(Update.class, Published::new);
      topic.tell(Topic.subscribe(adapter));
      Map<String, Set<ActorRef<String>>> byAuthor = new HashMap<>();
      Map<ActorRef<String>, Open> streams = new HashMap<>();
      return Behaviors.receive(Command.class)
          .onMessage(Open.class, open -> {
            streams.put(open.stream(), open);
            var authors = new HashSet<>(open.following());
            authors.add(open.user());
            authors.removeAll(open.hidden());
            authors.forEach(a -> byAuthor.computeIfAbsent(a, k -> new HashSet<>()).add(open.stream()));
            ctx.watchWith(open.stream(), new Closed(open.stream()));
            return Behaviors.same();
          })
          .onMessage(Closed.class, closed -> {
            var open = streams.remove(closed.stream());
            if (open != null) {
              var authors = new HashSet<>(open.following());
              authors.add(open.user());
              for (var author : authors) {
                var set = byAuthor.get(author);
                if (set != null && set.remove(closed.stream()) && set.isEmpty()) byAuthor.remove(author);
              }
            }
            return Behaviors.same();
          })
          .onMessage(Published.class, p -> {
            var frame = Json.write(p.update());
            byAuthor.getOrDefault(p.update().author(), Set.of()).forEach(stream -> stream.tell(frame));
            return Behaviors.same();
          })
          .build();
    });
  }
}
