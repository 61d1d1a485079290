package io.plaza.platform;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * Short-lived, single-use stream tickets: what a browser passes as {@code ?ticket=} on a WebSocket or an EventSource,
 * which cannot carry an Authorization header, so the long-lived token never appears in a URL (or a log). A ticket is
 * 256 random bits, bound to the user it was issued to, valid for {@code ttl} and redeemable once, on any node: each
 * lives in a sharded actor of its own (in memory: a ticket lost with its node is simply asked for again).
 */
public final class StreamTickets {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "StreamTicket");

  /** What a ticket looks like (32 bytes, base64url without padding): anything else is refused without a lookup. */
  public static final Pattern FORMAT = Pattern.compile("[A-Za-z0-9_-]{43}");

  public record Ticket(String ticket, Instant expiresAt) {}

  public sealed interface Command extends CborSerializable {}

  public record Issue(String userId, Instant expiresAt, ActorRef<Done> replyTo) implements Command {}

  public record Redeem(ActorRef<Redemption> replyTo) implements Command {}

  private record Expired() implements Command {}

  /** Sharding's stop message: queued behind what is in the mailbox, so every redemption asked is answered. */
  public record Stop() implements Command {}

  public record Done() implements CborSerializable {}

  /** A redemption's answer: the user, or why not. */
  public record Redemption(String userId, String refusal) implements CborSerializable {
    JwtAuth.Verdict verdict() {
      return userId != null ? new JwtAuth.Authenticated(userId) : new JwtAuth.Refused(refusal);
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final ClusterSharding sharding;
  private final Duration ttl;
  private final Duration askTimeout;
  private final Clock clock;
  private final SameRelease sameRelease;

  private StreamTickets(ClusterSharding sharding, Duration ttl, Duration askTimeout, Clock clock,
      SameRelease sameRelease) {
    this.sameRelease = sameRelease;
    this.sharding = sharding;
    this.ttl = ttl;
    this.askTimeout = askTimeout;
    this.clock = clock;
  }

  /** New in 0.4.0: not awaited by readiness, and issued only once every member runs this release. */
  public static StreamTickets init(ActorSystem<?> system, Duration ttl, Duration askTimeout) {
    ShardingReadinessCheck.doNotAwait(system, ENTITY_KEY.name());
    var sharding = ClusterSharding.get(system);
    var clock = Clock.systemUTC();
    sharding.init(org.apache.pekko.cluster.sharding.typed.javadsl.Entity.of(ENTITY_KEY, ctx -> ticket(clock,
        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)))).withStopMessage(new Stop()));
    return new StreamTickets(sharding, ttl, askTimeout, clock, new SameRelease(system));
  }

  /**
   * {@code POST /v1/stream-tickets} (bearer token): 201 with a new ticket for the caller, not cacheable. A browser
   * asks for one right before it opens each WebSocket or EventSource.
   */
  public Endpoint endpoint() {
    return Endpoint.post("/v1/stream-tickets", call -> !sameRelease.getAsBoolean()
        ? Problems.complete(org.apache.pekko.http.javadsl.model.StatusCodes.SERVICE_UNAVAILABLE,
            "stream tickets are issued once every node runs this release (a rolling upgrade is under way)")
        : org.apache.pekko.http.javadsl.server.Directives.onSuccess(
        issue(call.userId()), ticket -> org.apache.pekko.http.javadsl.server.Directives.respondWithHeader(
            org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Cache-Control", "no-store"),
            () -> org.apache.pekko.http.javadsl.server.Directives.complete(
                org.apache.pekko.http.javadsl.model.StatusCodes.CREATED, ticket, Json.marshaller()))));
  }

  /** A new ticket for {@code userId}, answered once its entity holds it. */
  public CompletionStage<Ticket> issue(String userId) {
    var bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    var id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    var expiresAt = clock.instant().plus(ttl);
    return sharding.entityRefFor(ENTITY_KEY, id).<Done>ask(r -> new Issue(userId, expiresAt, r), askTimeout)
        .thenApply(done -> new Ticket(id, expiresAt));
  }

  /** The user the ticket was issued to, once; refused when unknown (forged), expired or already used. */
  public CompletionStage<JwtAuth.Verdict> redeem(String ticket) {
    if (ticket == null || !FORMAT.matcher(ticket).matches()) {
      return CompletableFuture.completedFuture(new JwtAuth.Refused("stream ticket is malformed"));
    }
    return sharding.entityRefFor(ENTITY_KEY, ticket).<Redemption>ask(Redeem::new, askTimeout)
        .thenApply(Redemption::verdict);
  }

  /**
   * One ticket: unknown until issued; then redeemable once until it expires; kept until then so that a second
   * redemption is told "already used"; passivates at expiry (a later redemption finds it unknown). An entity started
   * by the redemption of an unknown ticket answers and passivates at once.
   */
  static Behavior<Command> ticket(Clock clock, java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> Behaviors.receive(Command.class)
        .onMessage(Issue.class, issue -> {
          var left = Duration.between(clock.instant(), issue.expiresAt());
          timers.startSingleTimer(new Expired(), left.isNegative() ? Duration.ZERO : left);
          issue.replyTo().tell(new Done());
          return issued(clock, issue.userId(), issue.expiresAt(), false, () -> passivate.accept(ctx.getSelf()));
        })
        .onMessage(Redeem.class, redeem -> {
          redeem.replyTo().tell(new Redemption(null, "unknown or expired stream ticket"));
          passivate.accept(ctx.getSelf());
          return Behaviors.same();
        })
        .onMessage(Expired.class, e -> Behaviors.same())
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .build()));
  }

  private static Behavior<Command> issued(Clock clock, String userId, Instant expiresAt, boolean used,
      Runnable passivate) {
    return Behaviors.receive(Command.class)
        .onMessage(Redeem.class, redeem -> {
          if (used) {
            redeem.replyTo().tell(new Redemption(null, "stream ticket already used"));
            return Behaviors.same();
          }
          if (!clock.instant().isBefore(expiresAt)) {
            redeem.replyTo().tell(new Redemption(null, "stream ticket expired"));
            return Behaviors.same();
          }
          redeem.replyTo().tell(new Redemption(userId, null));
          return issued(clock, userId, expiresAt, true, passivate);
        })
        .onMessage(Issue.class, issue -> {
          // A second issue under one id needs a collision of 256 random bits: the first binding stays.
          issue.replyTo().tell(new Done());
          return Behaviors.same();
        })
        .onMessage(Expired.class, e -> {
          passivate.run();
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .build();
  }
}
