package io.plaza.chat;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One user's live connections, on whichever nodes they are open, and the user's presence (sharded, not persisted).
 * Conversations push frames here once their events are persisted; every device gets them.
 *
 * <p>Each connection heartbeats its session by re-sending {@link Attach}: after the session moves (rebalance, a crashed
 * node) its connections are known again within one interval, and a connection silent for three intervals is dropped.
 * Presence changes go to the user's contacts (the other sides of their direct conversations); going offline waits a
 * grace period, so a phone switching networks does not flap offline/online.
 */
public final class ChatSession {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ChatSession.class);

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ChatSession");

  public sealed interface Command extends CborSerializable {}

  /**
   * A WebSocket connection of this user (it receives JSON frames as strings), sent when it opens ({@code heartbeat}
   * false: it is then sent its contacts' presence) and again every heartbeat interval.
   */
  public record Attach(ActorRef<String> connection, boolean heartbeat) implements Command {}

  public record Detach(ActorRef<String> connection) implements Command {}

  /** A frame for every open connection of the user. */
  public record Push(String frame) implements Command {}

  /** Is any device of the user connected right now, and if not, since when? */
  public record GetPresence(ActorRef<Presence> replyTo) implements Command {}

  /** {@code lastSeen}: when the user's last connection closed (null while online, or never seen). */
  public record Presence(boolean online, Instant lastSeen) implements CborSerializable {}

  private record CheckHeartbeats() implements Command {}

  private record OfflineGraceOver() implements Command {}

  private record LastSeenLoaded(Instant lastSeen, boolean loaded, ActorRef<Presence> replyTo) implements Command {}

  /** What a session needs around it: contacts and the durable last-seen (read models), and the other sessions. */
  public interface Directory {
    CompletionStage<List<String>> contacts(String user);

    CompletionStage<Optional<Instant>> lastSeen(String user);

    CompletionStage<Done> saveLastSeen(String user, Instant at);

    RecipientRef<Command> session(String user);
  }

  public record Settings(Duration heartbeatInterval, Duration offlineGrace, Duration askTimeout) {
    public static Settings fromConfig(com.typesafe.config.Config chat, Duration askTimeout) {
      return new Settings(chat.getDuration("presence-heartbeat-interval"), chat.getDuration("presence-offline-grace"),
          askTimeout);
    }
  }

  private final String user;
  private final Settings settings;
  private final Directory directory;
  private final Clock clock;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  /** Open connections → when each was last heard of (nanoTime). */
  private final Map<ActorRef<String>, Long> connections = new HashMap<>();
  private boolean announcedOnline;
  private Instant lastSeen;
  /** The durable last-seen has been read (so a null lastSeen means never seen). */
  private boolean lastSeenLoaded;

  private ChatSession(String user, Settings settings, Directory directory, Clock clock, ActorContext<Command> ctx,
      TimerScheduler<Command> timers) {
    this.user = user;
    this.settings = settings;
    this.directory = directory;
    this.clock = clock;
    this.ctx = ctx;
    this.timers = timers;
  }

  public static Behavior<Command> create(String user, Settings settings, Directory directory, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new CheckHeartbeats(), settings.heartbeatInterval());
      return new ChatSession(user, settings, directory, clock, ctx, timers).behavior();
    }));
  }

  static String presenceFrame(String user, Presence presence) {
    return Json.write(ChatFrame.presence(user, presence.online(), presence.lastSeen()));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Attach.class, this::onAttach)
        .onMessage(Detach.class, d -> {
          remove(d.connection());
          return Behaviors.same();
        })
        .onMessage(CheckHeartbeats.class, c -> {
          long silentSince = System.nanoTime() - 3 * settings.heartbeatInterval().toNanos();
          connections.entrySet().stream().filter(e -> e.getValue() < silentSince).map(Map.Entry::getKey).toList()
              .forEach(this::remove);
          return Behaviors.same();
        })
        .onMessage(OfflineGraceOver.class, o -> {
          if (connections.isEmpty() && announcedOnline) {
            announcedOnline = false;
            lastSeen = clock.instant();
            directory.saveLastSeen(user, lastSeen);
            announce(new Presence(false, lastSeen));
          }
          return Behaviors.same();
        })
        .onMessage(GetPresence.class, g -> {
          if (!connections.isEmpty()) {
            g.replyTo().tell(new Presence(true, null));
          } else if (lastSeen != null) {
            g.replyTo().tell(new Presence(false, lastSeen));
          } else if (lastSeenLoaded) {
            g.replyTo().tell(new Presence(false, null)); // never seen
          } else {
            // Not seen on this incarnation: the durable last-seen answers, read once (the push decider asks per
            // message, so this must not be a read per question).
            ctx.pipeToSelf(directory.lastSeen(user), (seen, e) ->
                new LastSeenLoaded(e == null ? seen.orElse(null) : null, e == null, g.replyTo()));
          }
          return Behaviors.same();
        })
        .onMessage(LastSeenLoaded.class, l -> {
          if (lastSeen == null && connections.isEmpty()) {
            lastSeen = l.lastSeen();
            lastSeenLoaded = l.loaded();
          }
          l.replyTo().tell(connections.isEmpty() ? new Presence(false, lastSeen) : new Presence(true, null));
          return Behaviors.same();
        })
        .onMessage(Push.class, p -> {
          connections.keySet().forEach(connection -> connection.tell(p.frame()));
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<Command> onAttach(Attach a) {
    boolean known = connections.put(a.connection(), System.nanoTime()) != null;
    if (known) return Behaviors.same();
    ctx.watchWith(a.connection(), new Detach(a.connection()));
    // A heartbeat from a connection this session never saw: the session was restarted (its node failed, or it
    // moved), and what conversations pushed to it meanwhile went nowhere. The client syncs to close the gap.
    if (a.heartbeat()) a.connection().tell(Json.write(ChatFrame.resync()));
    timers.cancel(OfflineGraceOver.class);
    if (!announcedOnline) {
      announcedOnline = true;
      lastSeen = null;
      announce(new Presence(true, null));
    }
    if (!a.heartbeat()) sendContactsPresence(a.connection());
    return Behaviors.same();
  }

  private void remove(ActorRef<String> connection) {
    if (connections.remove(connection) == null) return;
    ctx.unwatch(connection);
    if (connections.isEmpty()) timers.startSingleTimer(OfflineGraceOver.class, new OfflineGraceOver(),
        settings.offlineGrace());
  }

  /** To every contact's session: they push it to the contact's open connections (none: nothing happens). */
  private void announce(Presence presence) {
    var frame = presenceFrame(user, presence);
    directory.contacts(user).whenComplete((contacts, e) -> {
      if (e != null) {
        LOG.warn("presence of {} not announced: contacts unavailable: {}", user, e.toString());
        return;
      }
      contacts.forEach(contact -> directory.session(contact).tell(new Push(frame)));
    });
  }

  /** A new device learns who of its contacts is online, and since when the others are away. */
  private void sendContactsPresence(ActorRef<String> connection) {
    var system = ctx.getSystem();
    directory.contacts(user).whenComplete((contacts, e) -> {
      if (e != null) return;
      for (var contact : contacts) {
        AskPattern.<Command, Presence>ask(directory.session(contact), GetPresence::new, settings.askTimeout(),
                system.scheduler())
            .thenAccept(presence -> connection.tell(presenceFrame(contact, presence)));
      }
    });
  }
}
