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

  private ChatSession() {}

  public static Behavior<Command> create() {
    return Behaviors.setup(ctx -> {
      Set<ActorRef<String>> connections = new HashSet<>();
      return Behaviors.receive(Command.class)
          .onMessage(Attach.class, a -> {
            if (connections.add(a.connection())) ctx.watchWith(a.connection(), new Detach(a.connection()));
            return Behaviors.same();
          })
          .onMessage(Detach.class, d -> {
            connections.remove(d.connection());
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
