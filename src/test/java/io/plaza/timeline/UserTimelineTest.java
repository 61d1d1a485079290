package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * User timeline rules on the in-memory journal (commands, events and state round-trip through Jackson CBOR where the
 * test kit runs them): post validation and dedup, deletes, and follows/blocks between real entities converging.
 */
class UserTimelineTest {

  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
  private static final UserTimeline.Settings SETTINGS = new UserTimeline.Settings(280, 3, 100,
      Duration.ofHours(1), Duration.ofMillis(200), Duration.ofSeconds(3));

  private final io.plaza.platform.SettableClock clock = new io.plaza.platform.SettableClock(NOW);


  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Users as real actors on the in-memory journal, reaching each other by id like sharded entities do. */
  private final class Users {
    final String prefix = "u" + System.nanoTime() + "-";
    final Map<String, ActorRef<UserTimeline.Command>> refs = new ConcurrentHashMap<>();
    final Function<String, RecipientRef<UserTimeline.Command>> lookup = this::get;

    ActorRef<UserTimeline.Command> get(String name) {
      return refs.computeIfAbsent(name, n -> testKit.spawn(UserTimeline.create(n, SETTINGS, clock, lookup)));
    }

    String id(String name) {
      return prefix + name;
    }

    UserTimeline.Reply ask(String name, Function<ActorRef<UserTimeline.Reply>, UserTimeline.Command> command) {
      var probe = testKit.<UserTimeline.Reply>createTestProbe();
      get(id(name)).tell(command.apply(probe.ref()));
      return probe.receiveMessage(Duration.ofSeconds(5));
    }

    UserTimeline.Profile profile(String name) {
      return assertInstanceOf(UserTimeline.Profile.class, ask(name, UserTimeline.GetProfile::new));
    }
  }

  private static Rejection.Kind refused(UserTimeline.Reply reply) {
    return assertInstanceOf(UserTimeline.Rejected.class, reply).rejection().kind();
  }

  @Test
  void postsAreValidatedCountedInCodePointsAndDeduplicatedByIdempotencyKey() {
    var users = new Users();
    assertEquals(Rejection.Kind.BAD_REQUEST, refused(users.ask("ann", r -> new UserTimeline.CreatePost("  ", null, r))));
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused(users.ask("ann", r ->
        new UserTimeline.CreatePost("x".repeat(281), null, r))));
    // 280 emoji are 560 UTF-16 chars but 280 characters: accepted.
    var emoji = "\uD83D\uDE00".repeat(280);
    var first = assertInstanceOf(UserTimeline.PostAccepted.class, users.ask("ann", r ->
        new UserTimeline.CreatePost(emoji, "k-1", r)));
    assertEquals(users.id("ann") + ":1", first.postId());
    var retry = assertInstanceOf(UserTimeline.PostAccepted.class, users.ask("ann", r ->
        new UserTimeline.CreatePost(emoji, "k-1", r)));
    assertEquals(first.postId(), retry.postId());
    assertTrue(retry.replayed());
    var second = assertInstanceOf(UserTimeline.PostAccepted.class, users.ask("ann", r ->
        new UserTimeline.CreatePost("hello", "k-2", r)));
    assertEquals(users.id("ann") + ":2", second.postId());
    assertEquals(2, users.profile("ann").posts());
  }

  @Test
  void onlyTheAuthorDeletesAPostAndDeletingTwiceIsTheSame() {
    var users = new Users();
    var post = assertInstanceOf(UserTimeline.PostAccepted.class, users.ask("ann", r ->
        new UserTimeline.CreatePost("mine", null, r))).postId();
    assertEquals(Rejection.Kind.FORBIDDEN, refused(users.ask("bob", r -> new UserTimeline.DeletePost(post, r))));
    assertEquals(Rejection.Kind.NOT_FOUND, refused(users.ask("ann", r ->
        new UserTimeline.DeletePost(users.id("ann") + ":7", r))));
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.DeletePost(post, r)));
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.DeletePost(post, r)));
    assertEquals(0, users.profile("ann").posts());
  }

  @Test
  void aFollowIsRecordedOnBothSidesOnceAndUnfollowUndoesIt() {
    var users = new Users();
    users.ask("bob", UserTimeline.Register::new);
    var bob = users.id("bob");
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(bob, r)));
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(bob, r)));
    assertEquals(Set.of(bob), users.profile("ann").following());
    assertEquals(1, users.profile("bob").followers());
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Unfollow(bob, r)));
    eventually(() -> assertEquals(0, users.profile("bob").followers()));
    assertEquals(Set.of(), users.profile("ann").following());
  }

  @Test
  void aRedeliveredRelationChangeIsAppliedOnce() {
    var users = new Users();
    users.ask("bob", UserTimeline.Register::new);
    var ann = users.id("ann");
    for (int i = 0; i < 3; i++) {
      assertInstanceOf(UserTimeline.Done.class, users.ask("bob", r ->
          new UserTimeline.ApplyRelation(ann, UserTimeline.Relation.ADD_FOLLOWER, r)));
    }
    assertEquals(1, users.profile("bob").followers());
    for (int i = 0; i < 2; i++) {
      assertInstanceOf(UserTimeline.Done.class, users.ask("bob", r ->
          new UserTimeline.ApplyRelation(ann, UserTimeline.Relation.REMOVE_FOLLOWER, r)));
    }
    assertEquals(0, users.profile("bob").followers());
  }

  @Test
  void eventsAndStateRoundTripThroughTheJournalSerializer() throws Exception {
    var serialization = org.apache.pekko.serialization.SerializationExtension.get(testKit.system());
    var state = new UserTimeline.State(true, 2, Set.of(1L), Map.of("k", 2L), Map.of(2L, NOW), Set.of("b"),
        Set.of("c"), Set.of("d"), Set.of("e"), Map.of("b", UserTimeline.Relation.ADD_FOLLOWER), NOW, 7L);
    for (Object value : java.util.List.of(state,
        new UserTimeline.PostCreated("a", "a:2", 2, "hi", "k", 1, NOW, 5L),
        new UserTimeline.BlockChanged("a", "e", true, 0, NOW, null),
        new UserTimeline.RelationDelivered("a", "b", UserTimeline.Relation.SEVER, NOW, null))) {
      var bytes = serialization.serialize(value).get();
      var serializer = serialization.findSerializerFor(value);
      var manifest = org.apache.pekko.serialization.Serializers.manifestFor(serializer, value);
      assertEquals(value, serialization.deserialize(bytes, serializer.identifier(), manifest).get());
      assertEquals("jackson-cbor", serialization.serializerFor(value.getClass()).getClass().getSimpleName()
          .equals("JacksonCborSerializer") ? "jackson-cbor" : serializer.getClass().getName());
    }
  }

  @Test
  void selfAndTooManyFollowsAreRefusedAndANewUserCanBeFollowed() {
    var users = new Users();
    var ann = users.id("ann");
    assertEquals(Rejection.Kind.BAD_REQUEST, refused(users.ask("ann", r -> new UserTimeline.Follow(ann, r))));
    assertEquals(Set.of(), users.profile("ann").following(), "a refused follow leaves nothing behind");
    // A well-formed id is a timeline user whether or not it was used before: the follow registers it.
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(users.id("newbie"), r)));
    assertEquals(1, users.profile("newbie").followers());
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Unfollow(users.id("newbie"),
        r)));
    for (var name : new String[] {"b1", "b2", "b3", "b4"}) users.ask(name, UserTimeline.Register::new);
    for (var name : new String[] {"b1", "b2", "b3"}) {
      assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(users.id(name), r)));
    }
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused(users.ask("ann", r ->
        new UserTimeline.Follow(users.id("b4"), r))));
  }

  @Test
  void aBlockRemovesTheFollowsBothWaysAndRefusesNewOnes() {
    var users = new Users();
    var ann = users.id("ann");
    var bob = users.id("bob");
    users.ask("ann", UserTimeline.Register::new);
    users.ask("bob", UserTimeline.Register::new);
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(bob, r)));
    assertInstanceOf(UserTimeline.Done.class, users.ask("bob", r -> new UserTimeline.Follow(ann, r)));

    assertInstanceOf(UserTimeline.Done.class, users.ask("bob", r -> new UserTimeline.Block(ann, true, r)));
    var bobNow = users.profile("bob");
    assertEquals(Set.of(), bobNow.following());
    assertEquals(0, bobNow.followers());
    eventually(() -> {
      var annNow = users.profile("ann");
      assertEquals(Set.of(), annNow.following(), "ann no longer follows bob");
      assertEquals(0, annNow.followers(), "bob no longer follows ann");
    });
    assertEquals(Rejection.Kind.FORBIDDEN, refused(users.ask("ann", r -> new UserTimeline.Follow(bob, r))));
    assertEquals(Set.of(), users.profile("ann").following());
    assertEquals(Rejection.Kind.CONFLICT, refused(users.ask("bob", r -> new UserTimeline.Follow(ann, r))));

    // Unblocking does not bring the follows back, but allows new ones.
    assertInstanceOf(UserTimeline.Done.class, users.ask("bob", r -> new UserTimeline.Block(ann, false, r)));
    assertInstanceOf(UserTimeline.Done.class, users.ask("ann", r -> new UserTimeline.Follow(bob, r)));
    assertEquals(1, users.profile("bob").followers());
  }

  @Test
  void aRelationChangeTheOtherSideDidNotHearOfIsDeliveredByRetryOrAfterARestart() {
    var ann = "ann-" + System.nanoTime();
    var bob = "bob-" + System.nanoTime();
    // Bob's entity is unreachable at first: the lookup hands out a dead letter box.
    var reachable = new java.util.concurrent.atomic.AtomicBoolean(false);
    var refs = new ConcurrentHashMap<String, ActorRef<UserTimeline.Command>>();
    Function<String, RecipientRef<UserTimeline.Command>>[] lookup = new Function[1];
    lookup[0] = id -> id.equals(bob) && !reachable.get() ? testKit.<UserTimeline.Command>createTestProbe().ref()
        : refs.computeIfAbsent(id, n -> testKit.spawn(UserTimeline.create(n, SETTINGS, clock, lookup[0])));
    var probe = testKit.<UserTimeline.Reply>createTestProbe();
    reachable.set(true);
    lookup[0].apply(bob);
    ((ActorRef<UserTimeline.Command>) lookup[0].apply(bob)).tell(new UserTimeline.Register(probe.ref()));
    probe.expectMessageClass(UserTimeline.Done.class);
    reachable.set(false);

    var settings = new UserTimeline.Settings(280, 3, 100, Duration.ofHours(1), Duration.ofMillis(200),
        Duration.ofMillis(300));
    var annRef = testKit.spawn(UserTimeline.create(ann, settings, clock, lookup[0]));
    annRef.tell(new UserTimeline.Follow(bob, probe.ref()));
    probe.expectMessageClass(UserTimeline.Pending.class, Duration.ofSeconds(3));
    // Bob becomes reachable: the outbox retry delivers the follow without anyone asking again.
    reachable.set(true);
    eventually(() -> {
      ((ActorRef<UserTimeline.Command>) lookup[0].apply(bob)).tell(new UserTimeline.GetProfile(probe.ref()));
      assertEquals(1, assertInstanceOf(UserTimeline.Profile.class, probe.receiveMessage()).followers());
    });
    annRef.tell(new UserTimeline.GetProfile(probe.ref()));
    assertEquals(Set.of(bob), assertInstanceOf(UserTimeline.Profile.class, probe.receiveMessage()).following());

    // An unfollow bob does not hear of, then ann's entity stops: its recovery re-sends the outbox.
    reachable.set(false);
    annRef.tell(new UserTimeline.Unfollow(bob, probe.ref()));
    probe.expectMessageClass(UserTimeline.Done.class);
    testKit.stop(annRef);
    reachable.set(true);
    var annAgain = testKit.spawn(UserTimeline.create(ann, new UserTimeline.Settings(280, 3, 100, Duration.ofHours(1),
        Duration.ofHours(1), Duration.ofMillis(300)), clock, lookup[0]));
    eventually(() -> {
      ((ActorRef<UserTimeline.Command>) lookup[0].apply(bob)).tell(new UserTimeline.GetProfile(probe.ref()));
      assertEquals(0, assertInstanceOf(UserTimeline.Profile.class, probe.receiveMessage()).followers());
    });
    annAgain.tell(new UserTimeline.GetProfile(probe.ref()));
    assertEquals(Set.of(), assertInstanceOf(UserTimeline.Profile.class, probe.receiveMessage()).following());
  }

  @Test
  void activityIsRecordedAtMostOncePerResolution() {
    var users = new Users();
    assertNull(assertInstanceOf(UserTimeline.Activity.class, users.ask("ann", UserTimeline.RecordActivity::new))
        .previouslyActive());
    clock.set(NOW.plusSeconds(60));
    assertEquals(NOW, assertInstanceOf(UserTimeline.Activity.class, users.ask("ann",
        UserTimeline.RecordActivity::new)).previouslyActive());
    assertEquals(NOW, users.profile("ann").lastActive(), "not recorded again within the hour");
    clock.set(NOW.plus(Duration.ofHours(2)));
    users.ask("ann", UserTimeline.RecordActivity::new);
    assertEquals(NOW.plus(Duration.ofHours(2)), users.profile("ann").lastActive());
  }

  private static void eventually(Runnable assertion) {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > deadline) throw e;
        try {
          Thread.sleep(50);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** A user timeline alone: no other user is reached in these tests. */
  private EventSourcedBehaviorTestKit<UserTimeline.Command, UserTimeline.Event, UserTimeline.State> alone(
      String id, io.plaza.platform.EntityDelivery<UserTimeline.Event> delivery) {
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        UserTimeline.create(id, SETTINGS, clock, other -> testKit.system().ignoreRef(), delivery));
  }

  @Test
  void anEntityThatDeliversItsEventsWritesHowFarItHasGotIntoThemAndDeliversAgainAfterACrash() {
    var delivery = new io.plaza.platform.HeldDelivery<UserTimeline.Event>();
    var ann = alone("ann-" + System.nanoTime(), delivery);
    var first = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("one", null, r));
    delivery.journal.addAll(first.events());
    assertEquals(2, first.events().size(), "Registered, then the post");
    assertEquals(0L, first.events().get(1).deliveredThrough(), "nothing was delivered before the first events");
    delivery.awaitDelivered(1L, 2L);
    delivery.hold = true; // from here on a delivery never completes: the node "crashes" with these undelivered
    var second = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("two", null, r));
    delivery.journal.addAll(second.events());
    assertEquals(2L, second.event().deliveredThrough(), "the event says how far the delivery had got");
    var muted = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.Mute("bob", true, r));
    delivery.journal.addAll(muted.events());
    assertEquals(2L, muted.event().deliveredThrough());
    assertEquals(2L, ann.getState().deliveredThrough());

    delivery.hold = false;
    ann.restart();
    // The new incarnation reads events 3..4 back and delivers them before anything new.
    var third = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("three", null, r));
    delivery.journal.addAll(third.events());
    delivery.awaitDelivered(1L, 2L, 3L, 4L, 5L);
    assertEquals(1, delivery.loads.size());
    assertEquals(3, delivery.loads.get(0)[0]);
    assertEquals(4, delivery.loads.get(0)[1]);
  }

  /** A failed journal write restarts the entity in place (the same object): its delivery must go on after it. */
  @Test
  void deliveryGoesOnAfterAFailedWriteRestartsTheEntity() {
    var id = "ann-" + System.nanoTime();
    var delivery = new io.plaza.platform.HeldDelivery<UserTimeline.Event>();
    var ann = testKit.spawn(UserTimeline.create(id, SETTINGS, clock, other -> testKit.system().ignoreRef(),
        delivery));
    var replies = testKit.<UserTimeline.Reply>createTestProbe();
    ann.tell(new UserTimeline.CreatePost("one", null, replies.getRef()));
    replies.expectMessageClass(UserTimeline.PostAccepted.class);
    delivery.awaitDelivered(1L, 2L);
    var journal = org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit.create(testKit.system());
    delivery.storage = () -> journal.persistedInStorage("UserTimeline|" + id);
    journal.failNextPersisted("UserTimeline|" + id);
    ann.tell(new UserTimeline.CreatePost("lost with the write", null, replies.getRef()));
    replies.expectNoMessage(Duration.ofMillis(300));
    // Restarted after its backoff, recovered from the journal: the next post is persisted and delivered.
    replies.awaitAssert(Duration.ofSeconds(10), () -> {
      ann.tell(new UserTimeline.CreatePost("three", null, replies.getRef()));
      assertInstanceOf(UserTimeline.PostAccepted.class, replies.receiveMessage(Duration.ofSeconds(1)));
      return null;
    });
    delivery.awaitDelivered(1L, 2L, 3L);
  }

  @Test
  void withoutDeliveryByTheEntityEventsSayNothingAboutIt() {
    var ann = alone("ann-" + System.nanoTime(), io.plaza.platform.EntityDelivery.byProjection());
    var posted = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("hi", null, r));
    posted.events().forEach(event -> assertNull(event.deliveredThrough(), "tagged: the projection delivers it"));
    assertNull(ann.getState().deliveredThrough());
  }

  /**
   * A user whose events were tagged (an older release was in the cluster) and who now delivers their own: the recent
   * tagged events go again first, so a post never overtakes the follow before it (the projection may lag); older ones
   * are left to the projection. In one incarnation, and after a restart.
   */
  @Test
  void whenTheEntityTakesOverFromTheProjectionItDeliversTheRecentTaggedEventsFirst() {
    var delivery = new io.plaza.platform.HeldDelivery<UserTimeline.Event>();
    delivery.byEntity = false;
    var ann = alone("ann-" + System.nanoTime(), delivery);
    var tagged = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("tagged", null, r));
    delivery.journal.addAll(tagged.events());
    var follower = ann.<UserTimeline.Reply>runCommand(r ->
        new UserTimeline.ApplyRelation("bob", UserTimeline.Relation.ADD_FOLLOWER, r));
    delivery.journal.addAll(follower.events());
    assertEquals(java.util.List.of(), delivery.delivered, "tagged: the projection delivers them");
    delivery.byEntity = true;
    var own = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("own", null, r));
    delivery.journal.addAll(own.events());
    delivery.awaitDelivered(1L, 2L, 3L, 4L);

    // After a restart (the entity moved to a node of the new release), the same.
    var moved = new io.plaza.platform.HeldDelivery<UserTimeline.Event>();
    moved.byEntity = false;
    var cid = alone("cid-" + System.nanoTime(), moved);
    moved.journal.addAll(cid.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("tagged", null, r))
        .events());
    cid.restart();
    moved.byEntity = true;
    moved.journal.addAll(cid.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("own", null, r))
        .events());
    moved.awaitDelivered(1L, 2L, 3L);

    // Tagged events older than the takeover window are the projection's alone.
    delivery.byEntity = false;
    var old = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("old", null, r));
    delivery.journal.addAll(old.events());
    clock.set(NOW.plus(Duration.ofMinutes(2)));
    delivery.byEntity = true;
    var later = ann.<UserTimeline.Reply>runCommand(r -> new UserTimeline.CreatePost("later", null, r));
    delivery.journal.addAll(later.events());
    delivery.awaitDelivered(1L, 2L, 3L, 4L, 6L);
  }
}
