package io.plaza.chat;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.EntityDelivery;
import io.plaza.platform.GroupCommit;
import io.plaza.platform.GroupCommit.Decision;
import io.plaza.platform.GroupCommittedBehavior;
import io.plaza.platform.OrderedDelivery;
import io.plaza.platform.Rejection;
import io.plaza.platform.SelfDelivery;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One chat conversation: a 1:1 between two users or a group of up to {@link Settings#maxMembers()}. Every message gets
 * the next sequence number (gap-free, strictly increasing); a retry with the same client message id gets the original
 * seq back and creates nothing. Members move their delivered and read pointers forward; only members see anything.
 */
public final class Conversation
    extends GroupCommittedBehavior<Conversation.Command, Conversation.Request, Conversation.Event, Conversation.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Conversation");

  /** Fixed forever once events are written. */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> "chat-conversation-" + i).toList();

  public static String tagFor(String conversationId) {
    return TAGS.get(Math.floorMod(conversationId.hashCode(), TAG_COUNT));
  }

  /** The one 1:1 conversation of two users, found again by either side. */
  public static String directId(String userA, String userB) {
    var pair = userA.compareTo(userB) <= 0 ? userA + "\n" + userB : userB + "\n" + userA;
    return "dm-" + UUID.nameUUIDFromBytes(pair.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * {@code rememberedMessages}: how many recent messages the entity keeps the author and time of (for edit/delete
   * rules) and how many client message ids it keeps for dedup; {@code editWindow} / {@code deleteWindow}: how long after
   * sending its author may still edit / delete a message.
   */
  public record Settings(int maxMembers, int maxBodyBytes, int rememberedMessages, Duration editWindow,
      Duration deleteWindow) {
    public static Settings fromConfig(com.typesafe.config.Config chat) {
      return new Settings(chat.getInt("max-group-members"), (int) chat.getBytes("max-body-size").longValue(),
          chat.getInt("remembered-messages"), chat.getDuration("edit-window"), chat.getDuration("delete-window"));
    }
  }

  public enum Kind { DIRECT, GROUP }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** A command from outside the entity: answered once its event (if any) is persisted. */
  public sealed interface Request extends Command {
    ActorRef<Reply> replyTo();
  }

  /** Local only: the requests that queued while the previous write was in flight ({@link GroupCommit}). */
  record Batch(List<Request> requests) implements Command, GroupCommittedBehavior.Batch<Request> {}

  /** Local only: the entity's note to itself that a batch is written or its recovery completed. */
  record BatchWritten() implements Command, GroupCommit.Written {}

  /** Opens the conversation; for a DIRECT one {@code members} is the two users and the id is {@link #directId}. */
  public record Create(String requester, Kind kind, String title, Set<String> members, ActorRef<Reply> replyTo)
      implements Request {}

  public record AddMembers(String requester, Set<String> users, ActorRef<Reply> replyTo) implements Request {}

  /** An admin removes someone, or a member leaves ({@code user} = requester). */
  public record RemoveMember(String requester, String user, ActorRef<Reply> replyTo) implements Request {}

  public record Post(String sender, String clientMsgId, String body, ActorRef<Reply> replyTo) implements Request {}

  public record Edit(String sender, long seq, String body, ActorRef<Reply> replyTo) implements Request {}

  public record Delete(String sender, long seq, ActorRef<Reply> replyTo) implements Request {}

  /** Moves the member's delivered (or, with {@code read}, read) pointer up to {@code seq}; never backwards. */
  public record Ack(String user, long seq, boolean read, ActorRef<Reply> replyTo) implements Request {}

  public record GetInfo(String requester, ActorRef<Reply> replyTo) implements Request {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  /** {@code replayed}: the same client message id had been posted before; this is the original. */
  public record Posted(String conversationId, long seq, Instant sentAt, boolean replayed) implements Reply {}

  public record Info(
      String conversationId, Kind kind, String title, String owner, Set<String> admins, Set<String> members,
      long lastSeq, Map<String, Long> delivered, Map<String, Long> read)
      implements Reply {
    public long unread(String user) {
      return lastSeq - read.getOrDefault(user, 0L);
    }
  }

  public record Done() implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  // ---- Events -----------------------------------------------------------------------------------------------

  /**
   * {@code deliveredThrough}: null for an event a projection delivers (it is tagged; every event before this release
   * and while the cluster runs an older one); otherwise the event is delivered by the entity itself and not tagged, and
   * this is how far the entity's delivery ({@link OrderedDelivery}) had got when it decided the event — its recovery
   * delivers again what came after.
   */
  public sealed interface Event extends CborSerializable {
    String conversationId();

    Long deliveredThrough();
  }

  public record ConversationCreated(
      String conversationId, Kind kind, String title, String owner, Set<String> members, Instant at,
      Long deliveredThrough) implements Event {
    public ConversationCreated(String conversationId, Kind kind, String title, String owner, Set<String> members,
        Instant at) {
      this(conversationId, kind, title, owner, members, at, null);
    }
  }

  public record MembersAdded(String conversationId, String by, Set<String> users, Instant at, Long deliveredThrough)
      implements Event {
    public MembersAdded(String conversationId, String by, Set<String> users, Instant at) {
      this(conversationId, by, users, at, null);
    }
  }

  public record MemberRemoved(String conversationId, String by, String user, Instant at, Long deliveredThrough)
      implements Event {
    public MemberRemoved(String conversationId, String by, String user, Instant at) {
      this(conversationId, by, user, at, null);
    }
  }

  public record MessagePosted(
      String conversationId, long seq, String sender, String clientMsgId, String body, Instant sentAt,
      Long deliveredThrough) implements Event {
    public MessagePosted(String conversationId, long seq, String sender, String clientMsgId, String body,
        Instant sentAt) {
      this(conversationId, seq, sender, clientMsgId, body, sentAt, null);
    }
  }

  public record MessageEdited(String conversationId, long seq, String sender, String body, Instant at,
      Long deliveredThrough) implements Event {
    public MessageEdited(String conversationId, long seq, String sender, String body, Instant at) {
      this(conversationId, seq, sender, body, at, null);
    }
  }

  /** The message stays in the history as a tombstone without its body. */
  public record MessageDeleted(String conversationId, long seq, String sender, Instant at, Long deliveredThrough)
      implements Event {
    public MessageDeleted(String conversationId, long seq, String sender, Instant at) {
      this(conversationId, seq, sender, at, null);
    }
  }

  public record PointerMoved(String conversationId, String user, long seq, boolean read, Instant at,
      Long deliveredThrough) implements Event {
    public PointerMoved(String conversationId, String user, long seq, boolean read, Instant at) {
      this(conversationId, user, seq, read, at, null);
    }
  }

  // ---- State ------------------------------------------------------------------------------------------------

  public sealed interface State extends CborSerializable {}

  public record NotCreated() implements State {}

  /** What the entity keeps of a recent message: enough to apply the edit and delete rules. */
  public record Recent(String sender, Instant sentAt, boolean deleted) implements CborSerializable {}

  /**
   * {@code clientMsgIds}: "sender\nclientMsgId" → seq of the last messages; {@code recent}: seq → author and time of
   * the last messages. Both bounded by {@link Settings#rememberedMessages()}. {@code deliveredThrough}: the newest
   * event's of that name that is not null (null: the entity has never delivered an event itself).
   */
  public record Active(
      Kind kind, String title, String owner, Set<String> admins, Set<String> members, long lastSeq,
      Map<String, Long> clientMsgIds, Map<Long, Recent> recent, Map<String, Long> delivered, Map<String, Long> read,
      Long deliveredThrough) implements State {

    Active withDeliveredThrough(Long through) {
      return through == null ? this : new Active(kind, title, owner, admins, members, lastSeq, clientMsgIds, recent,
          delivered, read, through);
    }
  }

  // ---- Behavior ---------------------------------------------------------------------------------------------

  /**
   * Live delivery: called once an event is persisted, with the members who must see it. Sessions in production, a
   * no-op (or a probe) in unit tests. Never waits for a projection.
   */
  public interface Fanout {
    Fanout NONE = (members, event) -> { };

    void publish(Set<String> members, Event event);
  }

  public static Behavior<Command> create(String conversationId, Settings settings, Clock clock) {
    return create(conversationId, settings, clock, Fanout.NONE);
  }

  public static Behavior<Command> create(String conversationId, Settings settings, Clock clock, Fanout fanout) {
    return create(conversationId, settings, clock, fanout, EntityDelivery.byProjection());
  }


  /**
   * At most this many requests per journal write (group commit: a busy group's messages that queue behind a write
   * go to Cassandra in the next one). A message body is at most {@code max-body-size}, so this keeps a write's
   * Cassandra batch under its 50 KiB limit.
   */
  static final int MAX_BATCH = 8;

  public static Behavior<Command> create(String conversationId, Settings settings, Clock clock, Fanout fanout,
      EntityDelivery<Event> delivery) {
    return GroupCommit.around(Command.class, requests -> new Batch(requests.stream().map(Request.class::cast).toList()),
        MAX_BATCH, Behaviors.setup(ctx -> new Conversation(conversationId, settings, clock, fanout, delivery, ctx)));
  }

  private final String conversationId;
  private final Settings settings;
  private final Clock clock;
  private final Fanout fanout;
  private final ActorContext<Command> ctx;
  /** The entity's own delivery of its events to the read models and Kafka (see {@link EntityDelivery}). */
  private final SelfDelivery<Event> delivery;

  private Conversation(String conversationId, Settings settings, Clock clock, Fanout fanout,
      EntityDelivery<Event> delivery, ActorContext<Command> ctx) {
    super(PersistenceId.of(ENTITY_KEY.name(), conversationId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1), Request.class,
        ctx.getSelf(), BatchWritten::new);
    this.conversationId = conversationId;
    this.settings = settings;
    this.clock = clock;
    this.fanout = fanout;
    this.delivery = new SelfDelivery<>(conversationId, delivery, ctx.getSystem(), Event::deliveredThrough,
        event -> ChatEventMessage.of(event, 0).occurredAt(), clock);
    this.ctx = ctx;
  }

  @Override
  public State emptyState() {
    return new NotCreated();
  }

  /** Only events the projection delivers are tagged: the entity delivers the others itself. */
  @Override
  public Set<String> tagsFor(Event event) {
    return delivery.tagged(event) ? Set.of(tagFor(conversationId)) : Set.of();
  }

  /** For an event decided now: null if the projection delivers it, else how far this entity's delivery has got. */
  private Long deliveredThrough() {
    return delivery.mark();
  }

  /** Delivery of what an earlier incarnation persisted but may not have delivered, before anything new. */
  @Override
  protected void recovered(State state) {
    delivery.recovered(state instanceof Active active ? active.deliveredThrough() : null, lastSequenceNumber(ctx));
  }

  @Override
  protected void persisted(List<Event> events) {
    delivery.persisted(events, lastSequenceNumber(ctx));
  }

  @Override
  protected void stopped() {
    delivery.stop();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(200, 2);
  }

  /** Every request comes in a {@link Batch} of those that queued while the previous write was in flight. */
  @Override
  protected Decision<Event, State> decide(State state, Request request) {
    if (!(state instanceof Active active)) {
      return request instanceof Create cmd ? create(cmd) : notFound(request.replyTo());
    }
    if (request instanceof Post cmd) return post(active, cmd);
    if (request instanceof Ack cmd) return ack(active, cmd);
    if (request instanceof Edit cmd) return edit(active, cmd);
    if (request instanceof Delete cmd) return delete(active, cmd);
    if (request instanceof GetInfo cmd) {
      return active.members().contains(cmd.requester()) ? answer(cmd.replyTo(), info(active))
          : notMember(cmd.replyTo());
    }
    if (request instanceof AddMembers cmd) return addMembers(active, cmd);
    if (request instanceof RemoveMember cmd) return removeMember(active, cmd);
    if (request instanceof Create cmd) return createAgain(active, cmd);
    throw new IllegalArgumentException("unhandled request " + request.getClass().getName());
  }

  private static Decision<Event, State> persist(Event event, ActorRef<Reply> replyTo, Function<Active, Reply> reply) {
    return Decision.persist(event, replyTo, state -> reply.apply((Active) state));
  }

  /** Persisted, then pushed to the members it concerns (live delivery, no projection in the path), then answered. */
  private Decision<Event, State> published(Event event, ActorRef<Reply> replyTo, Function<Active, Reply> reply) {
    return new Decision<>(event, state -> {
      var members = ((Active) state).members();
      var answer = reply.apply((Active) state);
      return () -> {
        fanout.publish(members, event);
        replyTo.tell(answer);
      };
    });
  }

  private static Decision<Event, State> answer(ActorRef<Reply> replyTo, Reply reply) {
    return Decision.answer(replyTo, reply);
  }

  private Decision<Event, State> create(Create cmd) {
    var members = new TreeSet<>(cmd.members());
    members.add(cmd.requester());
    if (cmd.kind() == Kind.DIRECT) {
      if (members.size() != 2 || !conversationId.equals(directId(members.first(), members.last()))) {
        return reject(cmd.replyTo(), Rejection.badRequest("a direct conversation is between the caller and one other "
            + "user"));
      }
    } else if (members.size() > settings.maxMembers()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(ChatProblem.GROUP_FULL,
          "a group has at most " + settings.maxMembers()
          + " members"));
    }
    var created = new ConversationCreated(conversationId, cmd.kind(), cmd.title(), cmd.requester(),
        Collections.unmodifiableSet(members), clock.instant(), deliveredThrough());
    return persist(created, cmd.replyTo(), this::info);
  }

  /** Creating a direct conversation that exists finds it (either side may ask); a group id is never reused. */
  private Decision<Event, State> createAgain(Active state, Create cmd) {
    if (state.kind() == Kind.DIRECT && cmd.kind() == Kind.DIRECT && state.members().contains(cmd.requester())) {
      return answer(cmd.replyTo(), info(state));
    }
    return reject(cmd.replyTo(), Rejection.conflict(ChatProblem.CONVERSATION_EXISTS,
        "conversation " + conversationId + " already exists"));
  }

  private Decision<Event, State> addMembers(Active state, AddMembers cmd) {
    if (state.kind() == Kind.DIRECT) return reject(cmd.replyTo(), directIsFixed());
    if (!state.admins().contains(cmd.requester())) return notAdmin(state, cmd.requester(), cmd.replyTo());
    var added = new TreeSet<>(cmd.users());
    added.removeAll(state.members());
    if (added.isEmpty()) return answer(cmd.replyTo(), info(state));
    if (state.members().size() + added.size() > settings.maxMembers()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(ChatProblem.GROUP_FULL,
          "a group has at most " + settings.maxMembers()
          + " members; it has " + state.members().size()));
    }
    return persist(new MembersAdded(conversationId, cmd.requester(), Collections.unmodifiableSet(added),
        clock.instant(), deliveredThrough()), cmd.replyTo(), this::info);
  }

  private Decision<Event, State> removeMember(Active state, RemoveMember cmd) {
    if (state.kind() == Kind.DIRECT) return reject(cmd.replyTo(), directIsFixed());
    boolean leaving = cmd.user().equals(cmd.requester());
    if (!leaving && !state.admins().contains(cmd.requester())) {
      return notAdmin(state, cmd.requester(), cmd.replyTo());
    }
    if (!state.members().contains(cmd.user())) return answer(cmd.replyTo(), info(state));
    if (cmd.user().equals(state.owner())) {
      return reject(cmd.replyTo(), Rejection.unprocessable(ChatProblem.OWNER_CANNOT_LEAVE,
          "the owner cannot leave or be removed"));
    }
    return persist(new MemberRemoved(conversationId, cmd.requester(), cmd.user(), clock.instant(),
        deliveredThrough()), cmd.replyTo(), s -> new Done());
  }

  private Decision<Event, State> post(Active state, Post cmd) {
    if (!state.members().contains(cmd.sender())) return notMember(cmd.replyTo());
    var key = cmd.sender() + "\n" + cmd.clientMsgId();
    var earlier = state.clientMsgIds().get(key);
    if (earlier != null) {
      var recent = state.recent().get(earlier);
      return answer(cmd.replyTo(), new Posted(conversationId, earlier,
          recent == null ? null : recent.sentAt(), true));
    }
    var invalid = bodyRefusal(cmd.body());
    if (invalid != null) return reject(cmd.replyTo(), invalid);
    var posted = new MessagePosted(conversationId, state.lastSeq() + 1, cmd.sender(), cmd.clientMsgId(), cmd.body(),
        clock.instant(), deliveredThrough());
    return published(posted, cmd.replyTo(), s -> new Posted(conversationId, posted.seq(), posted.sentAt(), false));
  }

  private Decision<Event, State> edit(Active state, Edit cmd) {
    var refusal = ownRecentMessage(state, cmd.sender(), cmd.seq(), settings.editWindow(), "edited");
    if (refusal == null) refusal = bodyRefusal(cmd.body());
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var edited = new MessageEdited(conversationId, cmd.seq(), cmd.sender(), cmd.body(), clock.instant(),
        deliveredThrough());
    return published(edited, cmd.replyTo(), s -> new Done());
  }

  private Decision<Event, State> delete(Active state, Delete cmd) {
    var recent = state.recent().get(cmd.seq());
    // Deleting again answers the same: the message is deleted.
    if (recent != null && recent.deleted() && recent.sender().equals(cmd.sender())) {
      return answer(cmd.replyTo(), new Done());
    }
    var refusal = ownRecentMessage(state, cmd.sender(), cmd.seq(), settings.deleteWindow(), "deleted");
    if (refusal != null) return reject(cmd.replyTo(), refusal);
    var deleted = new MessageDeleted(conversationId, cmd.seq(), cmd.sender(), clock.instant(), deliveredThrough());
    return published(deleted, cmd.replyTo(), s -> new Done());
  }

  /** Why {@code sender} may not change message {@code seq} now, or null. */
  private Rejection ownRecentMessage(Active state, String sender, long seq, Duration window, String verb) {
    if (!state.members().contains(sender)) return Rejection.forbidden(ChatProblem.NOT_A_MEMBER, notMemberText());
    if (seq < 1 || seq > state.lastSeq()) {
      return Rejection.notFound(ChatProblem.MESSAGE_NOT_FOUND,
          "message " + seq + " does not exist in conversation " + conversationId);
    }
    var recent = state.recent().get(seq);
    if (recent == null || recent.sentAt().plus(window).isBefore(clock.instant())) {
      return Rejection.unprocessable(ChatProblem.EDIT_WINDOW_CLOSED,
          "message " + seq + " can no longer be " + verb + " (allowed for "
          + window.toMinutes() + " minutes after sending)");
    }
    if (!recent.sender().equals(sender)) {
      return Rejection.forbidden(ChatProblem.NOT_MESSAGE_AUTHOR,
          "only its author may " + verb.replace("ed", "") + " message " + seq);
    }
    if (recent.deleted()) return Rejection.unprocessable(ChatProblem.MESSAGE_DELETED,
        "message " + seq + " was deleted");
    return null;
  }

  private Rejection bodyRefusal(String body) {
    if (body == null || body.isBlank()) return Rejection.badRequest("body must not be empty");
    if (body.getBytes(StandardCharsets.UTF_8).length > settings.maxBodyBytes()) {
      return Rejection.unprocessable(ChatProblem.BODY_TOO_LARGE,
          "body is larger than " + settings.maxBodyBytes() + " bytes");
    }
    return null;
  }

  private Decision<Event, State> ack(Active state, Ack cmd) {
    if (!state.members().contains(cmd.user())) return notMember(cmd.replyTo());
    if (cmd.seq() > state.lastSeq()) {
      return reject(cmd.replyTo(), Rejection.unprocessable(ChatProblem.SEQ_BEYOND_LAST,
          "seq " + cmd.seq() + " is beyond the last message "
          + state.lastSeq()));
    }
    var pointers = cmd.read() ? state.read() : state.delivered();
    // Pointers only move forward; an old or repeated receipt changes nothing and needs no event.
    if (cmd.seq() <= pointers.getOrDefault(cmd.user(), 0L)) return answer(cmd.replyTo(), new Done());
    var moved = new PointerMoved(conversationId, cmd.user(), cmd.seq(), cmd.read(), clock.instant(),
        deliveredThrough());
    return published(moved, cmd.replyTo(), s -> new Done());
  }

  private Info info(Active state) {
    return new Info(conversationId, state.kind(), state.title(), state.owner(), state.admins(), state.members(),
        state.lastSeq(), state.delivered(), state.read());
  }

  private Decision<Event, State> notFound(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.notFound(ChatProblem.CONVERSATION_NOT_FOUND,
        "conversation " + conversationId + " does not exist"));
  }

  private Decision<Event, State> notMember(ActorRef<Reply> replyTo) {
    return reject(replyTo, Rejection.forbidden(ChatProblem.NOT_A_MEMBER, notMemberText()));
  }

  private String notMemberText() {
    return "only members of conversation " + conversationId + " may do this";
  }

  private Decision<Event, State> notAdmin(Active state, String requester, ActorRef<Reply> replyTo) {
    if (!state.members().contains(requester)) return notMember(replyTo);
    return reject(replyTo, Rejection.forbidden(ChatProblem.NOT_AN_ADMIN,
        "only the group's admins may change its members"));
  }

  private static Rejection directIsFixed() {
    return Rejection.unprocessable(ChatProblem.DIRECT_MEMBERS_FIXED,
        "a direct conversation always has exactly its two users");
  }

  private Decision<Event, State> reject(ActorRef<Reply> replyTo, Rejection rejection) {
    return answer(replyTo, new Rejected(rejection));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(NotCreated.class)
        .onEvent(ConversationCreated.class, (state, e) -> new Active(e.kind(), e.title(), e.owner(),
            Set.of(e.owner()), e.members(), 0, Map.of(), Map.of(), Map.of(), Map.of(), e.deliveredThrough()));
    builder.forStateType(Active.class)
        .onEvent(MembersAdded.class, (s, e) -> withMembers(s, union(s.members(), e.users()))
            .withDeliveredThrough(e.deliveredThrough()))
        .onEvent(MemberRemoved.class, (s, e) -> {
          var members = new LinkedHashSet<>(s.members());
          members.remove(e.user());
          var admins = new LinkedHashSet<>(s.admins());
          admins.remove(e.user());
          return new Active(s.kind(), s.title(), s.owner(), Collections.unmodifiableSet(admins),
              Collections.unmodifiableSet(members), s.lastSeq(), s.clientMsgIds(), s.recent(), s.delivered(),
              s.read(), s.deliveredThrough()).withDeliveredThrough(e.deliveredThrough());
        })
        .onEvent(MessagePosted.class, (s, e) -> {
          // Copy on write and bounded: snapshots serialize the state asynchronously.
          var ids = bounded(s.clientMsgIds(), e.sender() + "\n" + e.clientMsgId(), e.seq());
          var recent = bounded(s.recent(), e.seq(), new Recent(e.sender(), e.sentAt(), false));
          return new Active(s.kind(), s.title(), s.owner(), s.admins(), s.members(), e.seq(), ids, recent,
              s.delivered(), s.read(), s.deliveredThrough()).withDeliveredThrough(e.deliveredThrough());
        })
        .onEvent(MessageEdited.class, (s, e) -> s.withDeliveredThrough(e.deliveredThrough()))
        .onEvent(MessageDeleted.class, (s, e) -> {
          var recent = new LinkedHashMap<>(s.recent());
          recent.computeIfPresent(e.seq(), (seq, r) -> new Recent(r.sender(), r.sentAt(), true));
          return new Active(s.kind(), s.title(), s.owner(), s.admins(), s.members(), s.lastSeq(), s.clientMsgIds(),
              Collections.unmodifiableMap(recent), s.delivered(), s.read(), s.deliveredThrough())
              .withDeliveredThrough(e.deliveredThrough());
        })
        .onEvent(PointerMoved.class, (s, e) -> {
          var pointers = new LinkedHashMap<>(e.read() ? s.read() : s.delivered());
          pointers.merge(e.user(), e.seq(), Math::max);
          var map = Collections.unmodifiableMap(pointers);
          return new Active(s.kind(), s.title(), s.owner(), s.admins(), s.members(), s.lastSeq(), s.clientMsgIds(),
              s.recent(), e.read() ? s.delivered() : map, e.read() ? map : s.read(), s.deliveredThrough())
              .withDeliveredThrough(e.deliveredThrough());
        });
    return builder.build();
  }

  private <K, V> Map<K, V> bounded(Map<K, V> map, K key, V value) {
    var copy = new LinkedHashMap<>(map);
    copy.put(key, value);
    var it = copy.keySet().iterator();
    while (copy.size() > settings.rememberedMessages()) {
      it.next();
      it.remove();
    }
    return Collections.unmodifiableMap(copy);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    var all = new LinkedHashSet<>(a);
    all.addAll(b);
    return Collections.unmodifiableSet(all);
  }

  private static Active withMembers(Active s, Set<String> members) {
    return new Active(s.kind(), s.title(), s.owner(), s.admins(), members, s.lastSeq(), s.clientMsgIds(), s.recent(),
        s.delivered(), s.read(), s.deliveredThrough());
  }
}
