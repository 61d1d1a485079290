package io.plaza.chat;

import io.plaza.platform.CborSerializable;
import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One user's live connections, on whichever nodes they are open (sharded, not persisted: a connection that outlives a
 * move re-attaches). Conversations push frames here once their events are persisted; every device gets them.
 */
public final class ChatSession {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ChatSession");

  public sealed interface Command extends CborSerializable {}

  /** A WebSocket connection of this user; it receives JSON frames as strings. */
  public record Attach(ActorRef<String> connection) implements Command {}

  public record Detach(ActorRef<String> connection) implements Command {}

  /** A frame for every open connection of the user. */
  public record Push(String frame) implements Command {}

  /** Is any device of the user connected right now? */
  public record GetPresence(ActorRef<Presence> replyTo) implements Command {}

  /** {@code lastSeen}: when the last connection closed (null while online, or never seen on this incarnation). */
  public record Presence(boolean online, java.time.Instant lastSeen) implements CborSerializable {}

  private ChatSession() {}

  public static Behavior<Command> create() {
    return Behaviors.setup(ctx -> {
      Set<ActorRef<String>> connections = new HashSet<>();
      var lastSeen = new java.util.concurrent.atomic.AtomicReference<java.time.Instant>();
      return Behaviors.receive(Command.class)
          .onMessage(Attach.class, a -> {
            if (connections.add(a.connection())) ctx.watchWith(a.connection(), new Detach(a.connection()));
            return Behaviors.same();
          })
          .onMessage(Detach.class, d -> {
            if (connections.remove(d.connection()) && connections.isEmpty()) lastSeen.set(java.time.Instant.now());
            return Behaviors.same();
          })
          .onMessage(GetPresence.class, g -> {
            g.replyTo().tell(new Presence(!connections.isEmpty(), connections.isEmpty() ? lastSeen.get() : null));
            return Behaviors.same();
          })
          .onMessage(Push.class, p -> {
            for (var connection : connections) connection.tell(p.frame());
            return Behaviors.same();
          })
          .build();
    });
  }
}
