package io.plaza.timeline;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.EntityDelivery;
import io.plaza.platform.Rejection;
import io.plaza.platform.SelfDelivery;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One user of the timeline: their posts (numbered, so a post id names its author), whom they follow, who follows
 * them, whom they mute and block, and when they last read their home timeline.
 *
 * <p>A follow touches two entities. The follower records it first and then tells the followee through an outbox: the
 * latest relation change per other user, delivered at least once (retried on a timer and after a restart) until the
 * other side answers; the other side applies it idempotently. So both sides always converge: the followee counts the
 * follower exactly once, and a block removes the follows both ways.
 */
public final class UserTimeline
    extends EventSourcedBehaviorWithEnforcedReplies<UserTimeline.Command, UserTimeline.Event, UserTimeline.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "UserTimeline");

  /** Fixed forever once events are written. */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS = IntStream.range(0, TAG_COUNT).mapToObj(i -> "timeline-user-" + i).toList();

  public static String tagFor(String userId) {
    return TAGS.get(Math.floorMod(userId.hashCode(), TAG_COUNT));
  }

  /** Post ids are "author:number"; user ids never contain ':'. */
  public static String postId(String author, long number) {
    return author + ":" + number;
  }

  /** The author of a post id, or null if it is not one. */
  public static String authorOf(String postId) {
    int colon = postId.lastIndexOf(':');
    return colon <= 0 ? null : postId.substring(0, colon);
  }

  /** The number of a post id (its author's n-th post), or -1 if it is not one. */
  public static long numberOf(String postId) {
    try {
      return Long.parseLong(postId.substring(postId.lastIndexOf(':') + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * {@code maxPostLength} in code points; {@code maxFollowing}: how many users one may follow;
   * {@code rememberedKeys}: idempotency keys of the latest posts kept for retries; {@code activityResolution}: a home
   * read is recorded at most this often; {@code outboxRetry}: how often undelivered relation changes are re-sent.
   */
  public record Settings(int maxPostLength, int maxFollowing, int rememberedKeys, Duration activityResolution,
      Duration outboxRetry, Duration askTimeout) {
    public static Settings fromConfig(com.typesafe.config.Config timeline, Duration askTimeout) {
      return new Settings(timeline.getInt("max-post-length"), timeline.getInt("max-following"),
          timeline.getInt("remembered-idempotency-keys"), timeline.getDuration("activity-resolution"),
          timeline.getDuration("outbox-retry"), askTimeout);
    }
  }

  /** What a user asks of another user's entity; only the latest one per pair matters. */
  public enum Relation {
    /** "I follow you now": count me as a follower (refused if you block me). */
    ADD_FOLLOWER,
    /** "I stopped following you." */
    REMOVE_FOLLOWER,
    /** "I blocked you": stop following me, and I no longer follow you. */
    SEVER
  }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** {@code idempotencyKey} may be null (no dedup). */
  public record CreatePost(String text, String idempotencyKey, ActorRef<Reply> replyTo) implements Command {}

  public record DeletePost(String postId, ActorRef<Reply> replyTo) implements Command {}

  public record Follow(String target, ActorRef<Reply> replyTo) implements Command {}

  public record Unfollow(String target, ActorRef<Reply> replyTo) implements Command {}

  public record Mute(String target, boolean muted, ActorRef<Reply> replyTo) implements Command {}

  public record Block(String target, boolean blocked, ActorRef<Reply> replyTo) implements Command {}

  /** The user reads their home timeline; the reply says when they were active before. */
  public record RecordActivity(ActorRef<Reply> replyTo) implements Command {}

  /** Registers the user on first use (posting, following and reading register too). */
  public record Register(ActorRef<Reply> replyTo) implements Command {}

  public record GetProfile(ActorRef<Reply> replyTo) implements Command {}

  /** From another user's entity: a relation change to apply here (idempotent). */
  public record ApplyRelation(String from, Relation relation, ActorRef<Reply> replyTo) implements Command {}

  /** The other side's answer to an outbox entry (or null when it did not answer in time). */
  private record RelationAnswered(String target, Relation relation, Reply answer, ActorRef<Reply> replyTo)
      implements Command {}

  private record RetryOutbox() implements Command {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  public record PostAccepted(String postId, Instant createdAt, boolean replayed) implements Reply {}

  public record Done() implements Reply {}

  /** The follow is recorded, and the followee has not confirmed it yet (it will be, or undone if refused). */
  public record Pending() implements Reply {}

  /** What a home-timeline read needs: when the user was active before, whom they follow, mute and block. */
  public record Activity(Instant previouslyActive, Set<String> following, Set<String> muted, Set<String> blocked)
      implements Reply {}

  /** {@code posts}: live posts; {@code lastPost}: the number of the latest post (deleted or not). */
  public record Profile(String userId, long posts, long lastPost, int followers, Set<String> following,
      Set<String> muted, Set<String> blocked, Instant lastActive) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  // ---- Events -----------------------------------------------------------------------------------------------

  /**
   * {@code deliveredThrough}: null for an event the projection delivers (it is tagged; every event before this release
   * and while the cluster runs an older one); otherwise the entity delivers the event itself and does not tag it, and
   * this is how far its delivery ({@link SelfDelivery}) had got when it decided the event — its recovery delivers
   * again what came after.
   */
  public sealed interface Event extends CborSerializable {
    String userId();

    Instant at();

    Long deliveredThrough();
  }

  public record Registered(String userId, Instant at, Long deliveredThrough) implements Event {}

  /**
   * {@code body}: the post's text ({@code text} until schema version 2, see {@link PostCreatedMigration});
   * {@code followers}: how many followers the author had then (the fan-out policy decides by it).
   */
  public record PostCreated(String userId, String postId, long number, String body, String idempotencyKey,
      int followers, Instant at, Long deliveredThrough) implements Event {}

  public record PostDeleted(String userId, String postId, Instant at, Long deliveredThrough) implements Event {}

  /** The user follows {@code target}; the target is told through the outbox. */
  public record Followed(String userId, String target, Instant at, Long deliveredThrough) implements Event {}

  public record Unfollowed(String userId, String target, Instant at, Long deliveredThrough) implements Event {}

  /** The target refused the follow (it blocks the user) or is unknown: the follow is undone. */
  public record FollowRefused(String userId, String target, Instant at, Long deliveredThrough) implements Event {}

  /** {@code followers}: the user's follower count after this event (the celebrity policy reads it). */
  public record FollowerAdded(String userId, String follower, int followers, Instant at, Long deliveredThrough)
      implements Event {}

  public record FollowerRemoved(String userId, String follower, int followers, Instant at, Long deliveredThrough)
      implements Event {}

  /** {@code target} blocked the user: the user no longer follows it (not told back: the target knows). */
  public record FollowingSevered(String userId, String target, Instant at, Long deliveredThrough) implements Event {}

  public record MuteChanged(String userId, String target, boolean muted, Instant at, Long deliveredThrough)
      implements Event {}

  /** Blocking also removes the follows both ways (the target is told through the outbox). */
  public record BlockChanged(String userId, String target, boolean blocked, int followers, Instant at,
      Long deliveredThrough) implements Event {}

  /** The outbox entry for {@code target} was applied there. */
  public record RelationDelivered(String userId, String target, Relation relation, Instant at, Long deliveredThrough)
      implements Event {}

  public record ActivityRecorded(String userId, Instant at, Long deliveredThrough) implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  /**
   * {@code deletedPosts}: numbers of deleted posts; {@code recentKeys}: idempotency key → post number of the latest
   * posts; {@code outbox}: the relation change each other user still has to apply; {@code deliveredThrough}: the
   * newest event's of that name that is not null (null: the entity has never delivered an event itself).
   */
  public record State(boolean registered, long postCount, Set<Long> deletedPosts, Map<String, Long> recentKeys,
      Map<Long, Instant> recentPostTimes, Set<String> following, Set<String> followers, Set<String> muted,
      Set<String> blocked, Map<String, Relation> outbox, Instant lastActive, Long deliveredThrough)
      implements CborSerializable {

    static State empty() {
      return new State(false, 0, Set.of(), Map.of(), Map.of(), Set.of(), Set.of(), Set.of(), Set.of(), Map.of(), null,
          null);
    }
  }

  // ---- Behavior ---------------------------------------------------------------------------------------------

  public static Behavior<Command> create(String userId, Settings settings, Clock clock,
      java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<Command>> users) {
    return create(userId, settings, clock, users, EntityDelivery.byProjection());
  }

  /** @param delivery how the entity delivers its events to `user_posts`, the follows tables and Kafka itself */
  public static Behavior<Command> create(String userId, Settings settings, Clock clock,
      java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<Command>> users,
      EntityDelivery<Event> delivery) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new UserTimeline(userId, settings, clock, users, delivery, ctx, timers)));
  }

  private final String userId;
  private final Settings settings;
  private final Clock clock;
  private final java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<Command>> users;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  /** The entity's own delivery of its events to the read models and Kafka (see {@link EntityDelivery}). */
  private final SelfDelivery<Event> delivery;
  /** The next outbox retry delay (in memory: a restart retries at once, then backs off again). */
  private Duration retryDelay;
  private static final Duration MAX_RETRY_DELAY = Duration.ofMinutes(5);

  private UserTimeline(String userId, Settings settings, Clock clock,
      java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<Command>> users,
      EntityDelivery<Event> delivery, ActorContext<Command> ctx, TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), userId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.userId = userId;
    this.settings = settings;
    this.clock = clock;
    this.users = users;
    this.ctx = ctx;
    this.timers = timers;
    this.delivery = new SelfDelivery<>(userId, delivery, ctx.getSystem(), Event::deliveredThrough, Event::at, clock);
    this.retryDelay = settings.outboxRetry();
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  /** Only events the projection delivers are tagged: the entity delivers the others itself. */
  @Override
  public Set<String> tagsFor(Event event) {
    return delivery.tagged(event) ? Set.of(tagFor(userId)) : Set.of();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(200, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          // What an earlier incarnation persisted but may not have delivered goes first.
          delivery.recovered(state.deliveredThrough(), lastSequenceNumber(ctx));
          deliverOutbox(state);
        })
        .onSignal(PostStop.instance(), state -> delivery.stop())
        .onSignal(PreRestart.instance(), state -> delivery.stop())
        .build();
  }

  /** Persists the events and hands them to the entity's own delivery. */
  private EffectBuilder<Event, State> persist(List<Event> events) {
    return Effect().persist(events).thenRun(s -> delivery.persisted(events, lastSequenceNumber(ctx)));
  }

  private EffectBuilder<Event, State> persist(Event event) {
    return persist(List.of(event));
  }

  /** For an event decided now: null if the projection delivers it, else how far this entity's delivery has got. */
  private Long mark() {
    return delivery.mark();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Register.class, (state, cmd) -> registered(state, List.of(), cmd.replyTo(), new Done()))
        .onCommand(CreatePost.class, this::createPost)
        .onCommand(DeletePost.class, this::deletePost)
        .onCommand(Follow.class, this::follow)
        .onCommand(Unfollow.class, this::unfollow)
        .onCommand(Mute.class, this::mute)
        .onCommand(Block.class, this::block)
        .onCommand(RecordActivity.class, this::recordActivity)
        // Every well-formed user id is a timeline user: one who never used it has an empty profile.
        .onCommand(GetProfile.class, (state, cmd) -> Effect().reply(cmd.replyTo(), profile(state)))
        .onCommand(ApplyRelation.class, this::applyRelation)
        .onCommand(RelationAnswered.class, this::relationAnswered)
        .onCommand(RetryOutbox.class, (state, retry) -> {
          deliverOutbox(state);
          return Effect().noReply();
        })
        .build();
  }

  /** Persists {@code events}, preceded by Registered on the user's first own action, then replies {@code reply}. */
  private ReplyEffect<Event, State> registered(State state, List<Event> events, ActorRef<Reply> replyTo,
      Reply reply) {
    if (state.registered() && events.isEmpty()) return Effect().reply(replyTo, reply);
    var all = new java.util.ArrayList<Event>();
    if (!state.registered()) all.add(new Registered(userId, clock.instant(), mark()));
    all.addAll(events);
    return persist(all).thenReply(replyTo, s -> reply);
  }

  private ReplyEffect<Event, State> createPost(State state, CreatePost cmd) {
    if (cmd.idempotencyKey() != null) {
      var earlier = state.recentKeys().get(cmd.idempotencyKey());
      if (earlier != null) {
        return Effect().reply(cmd.replyTo(), new PostAccepted(postId(userId, earlier),
            state.recentPostTimes().get(earlier), true));
      }
    }
    var invalid = textRefusal(cmd.text(), settings.maxPostLength());
    if (invalid != null) return reject(cmd.replyTo(), invalid);
    long number = state.postCount() + 1;
    // Millisecond precision, as Cassandra keeps it: feeds order and page by this time.
    var created = new PostCreated(userId, postId(userId, number), number, cmd.text(), cmd.idempotencyKey(),
        state.followers().size(), clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), mark());
    return registered(state, List.of(created), cmd.replyTo(), new PostAccepted(created.postId(), created.at(),
        false));
  }

  /** Why a post text is refused, or null: 1 to {@code max} code points, not only blanks. */
  static Rejection textRefusal(String text, int max) {
    if (text == null || text.isBlank()) return Rejection.badRequest("text is required (1-" + max + " characters)");
    int length = text.codePointCount(0, text.length());
    if (length > max) {
      return Rejection.unprocessable(TimelineProblem.TEXT_TOO_LONG,
          "text has " + length + " characters; at most " + max + " are allowed");
    }
    return null;
  }

  private ReplyEffect<Event, State> deletePost(State state, DeletePost cmd) {
    var author = authorOf(cmd.postId());
    long number = numberOf(cmd.postId());
    if (!userId.equals(author)) {
      return reject(cmd.replyTo(), Rejection.forbidden(TimelineProblem.NOT_POST_AUTHOR,
          "only the author may delete post " + cmd.postId()));
    }
    if (number < 1 || number > state.postCount()) {
      return reject(cmd.replyTo(), Rejection.notFound(TimelineProblem.POST_NOT_FOUND,
          "post " + cmd.postId() + " does not exist"));
    }
    if (state.deletedPosts().contains(number)) return Effect().reply(cmd.replyTo(), new Done());
    return persist(new PostDeleted(userId, cmd.postId(), clock.instant(), mark()))
        .thenReply(cmd.replyTo(), s -> new Done());
  }

  private ReplyEffect<Event, State> follow(State state, Follow cmd) {
    var refusal = relationRefusal(cmd.target());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    if (state.blocked().contains(cmd.target())) {
      return reject(cmd.replyTo(), Rejection.conflict(TimelineProblem.YOU_BLOCK_THEM,
          "you block " + cmd.target() + "; unblock first"));
    }
    if (state.following().contains(cmd.target())) {
      if (state.outbox().get(cmd.target()) != Relation.ADD_FOLLOWER) return Effect().reply(cmd.replyTo(), new Done());
      // Still unconfirmed: ask again and answer when the followee does.
      deliver(cmd.target(), Relation.ADD_FOLLOWER, cmd.replyTo());
      return Effect().noReply();
    }
    if (state.following().size() >= settings.maxFollowing()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(TimelineProblem.FOLLOW_LIMIT,
          "you follow " + state.following().size()
          + " users, the most allowed"));
    }
    var events = new java.util.ArrayList<Event>();
    if (!state.registered()) events.add(new Registered(userId, clock.instant(), mark()));
    events.add(new Followed(userId, cmd.target(), clock.instant(), mark()));
    // The reply waits for the followee's answer (or says Pending if it takes longer than the ask timeout).
    return persist(events).thenRun(s -> deliver(cmd.target(), Relation.ADD_FOLLOWER, cmd.replyTo()))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> unfollow(State state, Unfollow cmd) {
    var refusal = relationRefusal(cmd.target());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    if (!state.following().contains(cmd.target())) return Effect().reply(cmd.replyTo(), new Done());
    return persist(new Unfollowed(userId, cmd.target(), clock.instant(), mark()))
        .thenRun(s -> deliver(cmd.target(), Relation.REMOVE_FOLLOWER, null))
        .thenReply(cmd.replyTo(), s -> new Done());
  }

  private ReplyEffect<Event, State> mute(State state, Mute cmd) {
    var refusal = relationRefusal(cmd.target());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    if (state.muted().contains(cmd.target()) == cmd.muted()) {
      return registered(state, List.of(), cmd.replyTo(), new Done());
    }
    return registered(state, List.of(new MuteChanged(userId, cmd.target(), cmd.muted(), clock.instant(), mark())),
        cmd.replyTo(), new Done());
  }

  private ReplyEffect<Event, State> block(State state, Block cmd) {
    var refusal = relationRefusal(cmd.target());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    if (state.blocked().contains(cmd.target()) == cmd.blocked()) {
      return registered(state, List.of(), cmd.replyTo(), new Done());
    }
    var events = new java.util.ArrayList<Event>();
    if (!state.registered()) events.add(new Registered(userId, clock.instant(), mark()));
    int followers = state.followers().size() - (cmd.blocked() && state.followers().contains(cmd.target()) ? 1 : 0);
    events.add(new BlockChanged(userId, cmd.target(), cmd.blocked(), followers, clock.instant(), mark()));
    return persist(events)
        .thenRun(s -> {
          if (cmd.blocked()) deliver(cmd.target(), Relation.SEVER, null);
        })
        .thenReply(cmd.replyTo(), s -> new Done());
  }

  private ReplyEffect<Event, State> recordActivity(State state, RecordActivity cmd) {
    var now = clock.instant();
    var reply = new Activity(state.lastActive(), state.following(), state.muted(), state.blocked());
    if (state.lastActive() != null && state.lastActive().plus(settings.activityResolution()).isAfter(now)) {
      return Effect().reply(cmd.replyTo(), reply);
    }
    return registered(state, List.of(new ActivityRecorded(userId, now, mark())), cmd.replyTo(), reply);
  }

  /** Another user's relation change, applied here once however often it arrives. */
  private ReplyEffect<Event, State> applyRelation(State state, ApplyRelation cmd) {
    var now = clock.instant();
    switch (cmd.relation()) {
      case ADD_FOLLOWER -> {
        // A user who never used the timeline can be followed: the follow registers them.
        if (state.blocked().contains(cmd.from())) {
          return reject(cmd.replyTo(), Rejection.forbidden(TimelineProblem.BLOCKED_BY_THEM,
              "you cannot follow " + userId));
        }
        if (state.followers().contains(cmd.from())) return Effect().reply(cmd.replyTo(), new Done());
        var added = new FollowerAdded(userId, cmd.from(), state.followers().size() + 1, now, mark());
        return registered(state, List.of(added), cmd.replyTo(), new Done());
      }
      case REMOVE_FOLLOWER -> {
        if (!state.followers().contains(cmd.from())) return Effect().reply(cmd.replyTo(), new Done());
        return persist(new FollowerRemoved(userId, cmd.from(), state.followers().size() - 1, now, mark()))
            .thenReply(cmd.replyTo(), s -> new Done());
      }
      default -> {
        var events = new java.util.ArrayList<Event>();
        if (state.followers().contains(cmd.from())) {
          events.add(new FollowerRemoved(userId, cmd.from(), state.followers().size() - 1, now, mark()));
        }
        if (state.following().contains(cmd.from())) {
          events.add(new FollowingSevered(userId, cmd.from(), now, mark()));
        }
        if (events.isEmpty()) return Effect().reply(cmd.replyTo(), new Done());
        return persist(events).thenReply(cmd.replyTo(), s -> new Done());
      }
    }
  }

  private ReplyEffect<Event, State> relationAnswered(State state, RelationAnswered answered) {
    var replyTo = answered.replyTo();
    // Superseded by a newer change, or answered before: nothing to record.
    if (state.outbox().get(answered.target()) != answered.relation()) {
      if (replyTo != null) replyTo.tell(state.following().contains(answered.target()) ? new Done() : new Pending());
      return Effect().noReply();
    }
    if (answered.answer() == null) {
      if (replyTo != null) replyTo.tell(new Pending());
      // Backoff with jitter: many followers retrying a slow, popular followee in step would bury it deeper.
      if (!timers.isTimerActive(RetryOutbox.class)) {
        var delay = retryDelay.multipliedBy(1 + ThreadLocalRandom.current().nextInt(100)).dividedBy(100)
            .plus(retryDelay);
        timers.startSingleTimer(RetryOutbox.class, new RetryOutbox(), delay);
        retryDelay = retryDelay.multipliedBy(2).compareTo(MAX_RETRY_DELAY) > 0 ? MAX_RETRY_DELAY
            : retryDelay.multipliedBy(2);
      }
      return Effect().noReply();
    }
    var now = clock.instant();
    if (answered.answer() instanceof Rejected rejected) {
      // Only a follow can be refused (the followee blocks us, or does not exist): undo it.
      return persist(List.of(new FollowRefused(userId, answered.target(), now, mark()),
              new RelationDelivered(userId, answered.target(), answered.relation(), now, mark())))
          .thenRun(s -> {
            if (replyTo != null) replyTo.tell(rejected);
          })
          .thenNoReply();
    }
    retryDelay = settings.outboxRetry();
    return persist(new RelationDelivered(userId, answered.target(), answered.relation(), now, mark()))
        .thenRun(s -> {
          if (replyTo != null) replyTo.tell(new Done());
        })
        .thenNoReply();
  }

  private void deliverOutbox(State state) {
    state.outbox().forEach((target, relation) -> deliver(target, relation, null));
  }

  /** Sends one outbox entry; the answer (or its absence) comes back as RelationAnswered. */
  private void deliver(String target, Relation relation, ActorRef<Reply> replyTo) {
    ctx.ask(Reply.class, users.apply(target), settings.askTimeout(),
        ref -> new ApplyRelation(userId, relation, ref),
        (answer, failure) -> new RelationAnswered(target, relation, failure == null ? answer : null, replyTo));
  }

  private Rejection relationRefusal(String target) {
    return target.equals(userId) ? new Rejection(Rejection.Kind.BAD_REQUEST,
        "that is you: you cannot follow, mute or block yourself", TimelineProblem.SELF_TARGET.code())
        : null;
  }

  private Profile profile(State state) {
    return new Profile(userId, state.postCount() - state.deletedPosts().size(), state.postCount(),
        state.followers().size(),
        state.following(), state.muted(), state.blocked(), state.lastActive());
  }

  private ReplyEffect<Event, State> reject(ActorRef<Reply> replyTo, Rejection rejection) {
    return Effect().reply(replyTo, new Rejected(rejection));
  }

  // ---- Events applied ---------------------------------------------------------------------------------------

  /** Every event also moves the state's delivery mark, if it carries one. */
  @Override
  public EventHandler<State, Event> eventHandler() {
    var handler = stateChanges();
    return (state, event) -> {
      var next = handler.apply(state, event);
      return event.deliveredThrough() == null ? next : new State(next.registered(), next.postCount(),
          next.deletedPosts(), next.recentKeys(), next.recentPostTimes(), next.following(), next.followers(),
          next.muted(), next.blocked(), next.outbox(), next.lastActive(), event.deliveredThrough());
    };
  }

  private EventHandler<State, Event> stateChanges() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Registered.class, (s, e) -> with(s, true, s.postCount(), s.deletedPosts(), s.recentKeys(),
            s.recentPostTimes(), s.following(), s.followers(), s.muted(), s.blocked(), s.outbox(), s.lastActive()))
        .onEvent(PostCreated.class, (s, e) -> {
          var keys = s.recentKeys();
          if (e.idempotencyKey() != null) keys = bounded(keys, e.idempotencyKey(), e.number());
          var times = bounded(s.recentPostTimes(), e.number(), e.at());
          return with(s, true, e.number(), s.deletedPosts(), keys, times, s.following(), s.followers(), s.muted(),
              s.blocked(), s.outbox(), s.lastActive());
        })
        .onEvent(PostDeleted.class, (s, e) -> with(s, true, s.postCount(), plus(s.deletedPosts(),
            numberOf(e.postId())), s.recentKeys(),
            s.recentPostTimes(), s.following(), s.followers(), s.muted(), s.blocked(), s.outbox(), s.lastActive()))
        .onEvent(Followed.class, (s, e) -> withRelations(s, plus(s.following(), e.target()), s.followers(),
            s.blocked(), put(s.outbox(), e.target(), Relation.ADD_FOLLOWER)))
        .onEvent(Unfollowed.class, (s, e) -> withRelations(s, minus(s.following(), e.target()), s.followers(),
            s.blocked(), put(s.outbox(), e.target(), Relation.REMOVE_FOLLOWER)))
        .onEvent(FollowRefused.class, (s, e) -> withRelations(s, minus(s.following(), e.target()), s.followers(),
            s.blocked(), s.outbox()))
        .onEvent(FollowingSevered.class, (s, e) -> withRelations(s, minus(s.following(), e.target()),
            s.followers(), s.blocked(), remove(s.outbox(), e.target())))
        .onEvent(FollowerAdded.class, (s, e) -> withRelations(s, s.following(), plus(s.followers(), e.follower()),
            s.blocked(), s.outbox()))
        .onEvent(FollowerRemoved.class, (s, e) -> withRelations(s, s.following(),
            minus(s.followers(), e.follower()), s.blocked(), s.outbox()))
        .onEvent(BlockChanged.class, (s, e) -> e.blocked()
            ? withRelations(s, minus(s.following(), e.target()), minus(s.followers(), e.target()),
                plus(s.blocked(), e.target()), put(s.outbox(), e.target(), Relation.SEVER))
            : withRelations(s, s.following(), s.followers(), minus(s.blocked(), e.target()), s.outbox()))
        .onEvent(MuteChanged.class, (s, e) -> with(s, true, s.postCount(), s.deletedPosts(), s.recentKeys(),
            s.recentPostTimes(), s.following(), s.followers(),
            e.muted() ? plus(s.muted(), e.target()) : minus(s.muted(), e.target()), s.blocked(), s.outbox(),
            s.lastActive()))
        .onEvent(RelationDelivered.class, (s, e) -> s.outbox().get(e.target()) == e.relation()
            ? withRelations(s, s.following(), s.followers(), s.blocked(), remove(s.outbox(), e.target())) : s)
        .onEvent(ActivityRecorded.class, (s, e) -> with(s, true, s.postCount(), s.deletedPosts(), s.recentKeys(),
            s.recentPostTimes(), s.following(), s.followers(), s.muted(), s.blocked(), s.outbox(), e.at()))
        .build();
  }

  private static State with(State s, boolean registered, long postCount, Set<Long> deleted, Map<String, Long> keys,
      Map<Long, Instant> times, Set<String> following, Set<String> followers, Set<String> muted, Set<String> blocked,
      Map<String, Relation> outbox, Instant lastActive) {
    return new State(registered, postCount, deleted, keys, times, following, followers, muted, blocked, outbox,
        lastActive, s.deliveredThrough());
  }

  private static State withRelations(State s, Set<String> following, Set<String> followers, Set<String> blocked,
      Map<String, Relation> outbox) {
    return with(s, s.registered(), s.postCount(), s.deletedPosts(), s.recentKeys(), s.recentPostTimes(),
        following, followers, s.muted(), blocked, outbox, s.lastActive());
  }

  private <K, V> Map<K, V> bounded(Map<K, V> map, K key, V value) {
    var copy = new LinkedHashMap<>(map);
    copy.put(key, value);
    while (copy.size() > settings.rememberedKeys()) copy.remove(copy.keySet().iterator().next());
    return Collections.unmodifiableMap(copy);
  }

  private static <T extends Comparable<T>> Set<T> plus(Set<T> set, T value) {
    var copy = new TreeSet<>(set);
    copy.add(value);
    return Collections.unmodifiableSet(copy);
  }

  private static <T extends Comparable<T>> Set<T> minus(Set<T> set, T value) {
    if (!set.contains(value)) return set;
    var copy = new TreeSet<>(set);
    copy.remove(value);
    return Collections.unmodifiableSet(copy);
  }

  private static Map<String, Relation> put(Map<String, Relation> map, String key, Relation value) {
    var copy = new TreeMap<>(map);
    copy.put(key, value);
    return Collections.unmodifiableMap(copy);
  }

  private static Map<String, Relation> remove(Map<String, Relation> map, String key) {
    if (!map.containsKey(key)) return map;
    var copy = new TreeMap<>(map);
    copy.remove(key);
    return Collections.unmodifiableMap(copy);
  }
}
