package io.plaza.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Conversation rules on the in-memory journal; every command, event and state round-trips through Jackson CBOR. */
class ConversationTest {

  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));
  private static final Conversation.Settings SETTINGS = new Conversation.Settings(500, 4096, 1000,
      Duration.ofMinutes(15), Duration.ofHours(48));

  private final io.plaza.platform.SettableClock clock = new io.plaza.platform.SettableClock(NOW);


  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private EventSourcedBehaviorTestKit<Conversation.Command, Conversation.Event, Conversation.State> conversation(
      String id) {
    return EventSourcedBehaviorTestKit.create(testKit.system(), Conversation.create(id, SETTINGS, clock));
  }

  private static Conversation.Reply run(
      EventSourcedBehaviorTestKit<Conversation.Command, Conversation.Event, Conversation.State> c,
      java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<Conversation.Reply>, Conversation.Command> cmd) {
    return c.<Conversation.Reply>runCommand(cmd::apply).reply();
  }

  private static Rejection.Kind refused(Conversation.Reply reply) {
    return assertInstanceOf(Conversation.Rejected.class, reply).rejection().kind();
  }

  private EventSourcedBehaviorTestKit<Conversation.Command, Conversation.Event, Conversation.State> group(
      String owner, String... members) {
    var c = conversation("g-" + java.util.UUID.randomUUID());
    assertInstanceOf(Conversation.Info.class, run(c, r -> new Conversation.Create(owner, Conversation.Kind.GROUP,
        "team", Set.of(members), r)));
    return c;
  }

  @Test
  void messagesGetGapFreeSeqsAndARetryReturnsTheOriginal() {
    var c = group("alice", "bob");
    for (int i = 1; i <= 3; i++) {
      int n = i;
      var posted = assertInstanceOf(Conversation.Posted.class,
          run(c, r -> new Conversation.Post(n % 2 == 0 ? "bob" : "alice", "m" + n, "hello " + n, r)));
      assertEquals(n, posted.seq());
      assertFalse(posted.replayed());
    }
    var retry = assertInstanceOf(Conversation.Posted.class,
        run(c, r -> new Conversation.Post("alice", "m1", "hello 1", r)));
    assertTrue(retry.replayed());
    assertEquals(1, retry.seq());
    // The same client id from another sender is another message.
    assertEquals(4, assertInstanceOf(Conversation.Posted.class,
        run(c, r -> new Conversation.Post("bob", "m1", "mine", r))).seq());

    // Dedup survives a restart: the state is rebuilt from the journal.
    c.restart();
    assertTrue(assertInstanceOf(Conversation.Posted.class,
        run(c, r -> new Conversation.Post("alice", "m3", "hello 3", r))).replayed());
    assertEquals(5, assertInstanceOf(Conversation.Posted.class,
        run(c, r -> new Conversation.Post("alice", "m5", "after restart", r))).seq());
  }

  @Test
  void onlyMembersReadPostOrSeeMembersAndBodiesAreLimited() {
    var c = group("alice", "bob");
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.Post("mallory", "x", "hi", r))));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.GetInfo("mallory", r))));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.Ack("mallory", 0, true, r))));
    assertEquals(Rejection.Kind.BAD_REQUEST, refused(run(c, r -> new Conversation.Post("bob", "x", " ", r))));
    assertEquals(Rejection.Kind.UNPROCESSABLE,
        refused(run(c, r -> new Conversation.Post("bob", "y", "x".repeat(4097), r))));
    assertEquals(Rejection.Kind.NOT_FOUND, refused(run(conversation("nope"),
        r -> new Conversation.Post("bob", "z", "hi", r))));
  }

  @Test
  void adminsManageMembersUpToTheLimitAndMembersMayLeave() {
    var c = group("alice", "bob");
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.AddMembers("bob", Set.of("carol"),
        r))));
    var info = assertInstanceOf(Conversation.Info.class,
        run(c, r -> new Conversation.AddMembers("alice", Set.of("carol", "dave"), r)));
    assertEquals(Set.of("alice", "bob", "carol", "dave"), info.members());
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.RemoveMember("carol", "carol", r)));
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.RemoveMember("alice", "dave", r)));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.RemoveMember("bob", "alice", r))));
    assertEquals(Rejection.Kind.UNPROCESSABLE,
        refused(run(c, r -> new Conversation.RemoveMember("alice", "alice", r))));
    // A removed member no longer posts.
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.Post("dave", "d", "hi", r))));

    var many = IntStream.range(0, 498).mapToObj(i -> "u" + i).collect(Collectors.toSet());
    assertEquals(500, assertInstanceOf(Conversation.Info.class,
        run(c, r -> new Conversation.AddMembers("alice", many, r))).members().size());
    assertEquals(Rejection.Kind.UNPROCESSABLE,
        refused(run(c, r -> new Conversation.AddMembers("alice", Set.of("one-too-many"), r))));
  }

  @Test
  void aDirectConversationIsFoundAgainByEitherSideAndHasExactlyItsTwoUsers() {
    var id = Conversation.directId("bob", "alice");
    assertEquals(id, Conversation.directId("alice", "bob"));
    var c = conversation(id);
    assertInstanceOf(Conversation.Info.class, run(c, r -> new Conversation.Create("alice", Conversation.Kind.DIRECT,
        null, Set.of("bob"), r)));
    var again = assertInstanceOf(Conversation.Info.class, run(c, r -> new Conversation.Create("bob",
        Conversation.Kind.DIRECT, null, Set.of("alice"), r)));
    assertEquals(Set.of("alice", "bob"), again.members());
    assertEquals(Rejection.Kind.UNPROCESSABLE,
        refused(run(c, r -> new Conversation.AddMembers("alice", Set.of("carol"), r))));
    assertEquals(Rejection.Kind.BAD_REQUEST, refused(run(conversation("dm-wrong"),
        r -> new Conversation.Create("alice", Conversation.Kind.DIRECT, null, Set.of("bob"), r))));
  }

  @Test
  void onlyTheAuthorEditsOrDeletesWithinTheWindowsAndADeletedMessageStaysDeleted() {
    var c = group("alice", "bob");
    run(c, r -> new Conversation.Post("alice", "m1", "helo", r));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.Edit("bob", 1, "hacked", r))));
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.Edit("alice", 1, "hello", r)));
    assertEquals(Rejection.Kind.NOT_FOUND, refused(run(c, r -> new Conversation.Edit("alice", 2, "x", r))));

    clock.set(NOW.plus(Duration.ofMinutes(16)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused(run(c, r -> new Conversation.Edit("alice", 1, "late", r))));
    assertEquals(Rejection.Kind.FORBIDDEN, refused(run(c, r -> new Conversation.Delete("bob", 1, r))));
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.Delete("alice", 1, r)));
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.Delete("alice", 1, r)));
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused(run(c, r -> new Conversation.Edit("alice", 1, "back", r))));
    assertEquals(1, ((Conversation.Active) c.getState()).lastSeq());
  }

  @Test
  void pointersOnlyMoveForwardAndGiveUnreadCounts() {
    var c = group("alice", "bob");
    for (int i = 1; i <= 5; i++) {
      int n = i;
      run(c, r -> new Conversation.Post("alice", "m" + n, "text", r));
    }
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.Ack("bob", 4, false, r)));
    assertInstanceOf(Conversation.Done.class, run(c, r -> new Conversation.Ack("bob", 2, true, r)));
    var stale = c.<Conversation.Reply>runCommand(r -> new Conversation.Ack("bob", 1, true, r));
    assertTrue(stale.hasNoEvents(), "an old receipt writes nothing");
    assertEquals(Rejection.Kind.UNPROCESSABLE, refused(run(c, r -> new Conversation.Ack("bob", 6, true, r))));
    var info = assertInstanceOf(Conversation.Info.class, run(c, r -> new Conversation.GetInfo("bob", r)));
    assertEquals(4, info.delivered().get("bob"));
    assertEquals(2, info.read().get("bob"));
    assertEquals(3, info.unread("bob"));
    assertEquals(5, info.unread("alice"));
  }

  @Test
  void settingsComeFromConfig() {
    assertEquals(new Conversation.Settings(500, 4096, 10_000, Duration.ofMinutes(15), Duration.ofHours(48)),
        Conversation.Settings.fromConfig(ConfigFactory.load().getConfig("plaza.chat")));
  }

  @Test
  void aBusyGroupsMessagesThatQueueBehindAWriteShareOneWriteKeepTheirOrderAndArePublishedAfterIt() throws Exception {
    var id = "g-busy-" + java.util.UUID.randomUUID();
    var published = new java.util.concurrent.CopyOnWriteArrayList<Long>();
    Conversation.Fanout fanout = (members, event) -> {
      if (event instanceof Conversation.MessagePosted posted) published.add(posted.seq());
    };
    var group = testKit.spawn(Conversation.create(id, SETTINGS, clock, fanout));
    var created = testKit.<Conversation.Reply>createTestProbe();
    group.tell(new Conversation.Create("ann", Conversation.Kind.GROUP, "team", Set.of("bob", "cat"), created.getRef()));
    created.expectMessageClass(Conversation.Info.class);
    var journal = org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit.create(testKit.system());
    var policy = new io.plaza.platform.HeldJournalWrite("Conversation|" + id, false);
    journal.withPolicy(policy);
    try {
      var probes = new java.util.ArrayList<org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Conversation.Reply>>();
      var senders = java.util.List.of("ann", "bob", "cat", "bob", "cat", "ann", "bob");
      var clientIds = java.util.List.of("m0", "m1", "m2", "m3", "m4", "m5", "m1"); // the last: bob's m1 again
      for (int i = 0; i < senders.size(); i++) {
        var probe = testKit.<Conversation.Reply>createTestProbe();
        probes.add(probe);
        group.tell(new Conversation.Post(senders.get(i), clientIds.get(i), "hello " + i, probe.getRef()));
        if (i == 0) policy.awaitHeldWrite(); // m0's write is in flight: the others queue behind it
      }
      probes.get(0).expectNoMessage(Duration.ofMillis(300));
      assertTrue(published.isEmpty(), "nothing is pushed to members before it is persisted");
      policy.release();

      for (int i = 0; i < 6; i++) {
        var posted = assertInstanceOf(Conversation.Posted.class, probes.get(i).receiveMessage());
        assertEquals(i + 1, posted.seq(), "sequence numbers follow the order the messages arrived in");
        assertFalse(posted.replayed());
      }
      var again = assertInstanceOf(Conversation.Posted.class, probes.get(6).receiveMessage());
      assertTrue(again.replayed());
      assertEquals(2, again.seq(), "a retried client id within the same batch answers with the original");
      assertEquals(java.util.List.of(1, 5), policy.writes, "m0 alone, then the 5 queued messages in one write");
      assertEquals(java.util.List.of(1L, 2L, 3L, 4L, 5L, 6L), published);
    } finally {
      journal.resetPolicy();
    }
  }

  @Test
  void anEntityThatDeliversItsEventsWritesHowFarItHasGotIntoThemAndDeliversAgainAfterACrash() {
    var delivery = new io.plaza.platform.HeldDelivery<Conversation.Event>();
    var c = EventSourcedBehaviorTestKit.<Conversation.Command, Conversation.Event, Conversation.State>create(
        testKit.system(), Conversation.create("g-" + java.util.UUID.randomUUID(), SETTINGS, clock,
            Conversation.Fanout.NONE, delivery));
    var created = c.<Conversation.Reply>runCommand(r -> new Conversation.Create("alice", Conversation.Kind.GROUP,
        "team", Set.of("bob"), r));
    delivery.journal.addAll(created.events());
    assertEquals(0L, created.event().deliveredThrough(), "nothing was delivered before the first event");
    for (int i = 1; i <= 2; i++) {
      int n = i;
      var posted = c.<Conversation.Reply>runCommand(r -> new Conversation.Post("alice", "m" + n, "hi " + n, r));
      delivery.journal.addAll(posted.events());
    }
    delivery.awaitDelivered(1L, 2L, 3L);
    delivery.hold = true; // from here on a delivery never completes: the node "crashes" with these undelivered
    var third = c.<Conversation.Reply>runCommand(r -> new Conversation.Post("bob", "b1", "yo", r));
    delivery.journal.addAll(third.events());
    assertEquals(3L, third.event().deliveredThrough(), "the event says how far the delivery had got");
    var read = c.<Conversation.Reply>runCommand(r -> new Conversation.Ack("alice", 3, true, r));
    delivery.journal.addAll(read.events());
    assertEquals(3L, read.event().deliveredThrough());
    assertEquals(3L, ((Conversation.Active) c.getState()).deliveredThrough());

    delivery.hold = false;
    c.restart();
    // The new incarnation reads events 4..5 back and delivers them before anything new.
    var fourth = c.<Conversation.Reply>runCommand(r -> new Conversation.Post("bob", "b2", "again", r));
    delivery.journal.addAll(fourth.events());
    delivery.awaitDelivered(1L, 2L, 3L, 4L, 5L, 6L);
    assertEquals(1, delivery.loads.size());
    assertEquals(4, delivery.loads.get(0)[0]);
    assertEquals(5, delivery.loads.get(0)[1]);
  }

  /** A failed journal write restarts the entity in place (the same object): its delivery must go on after it. */
  @Test
  void deliveryGoesOnAfterAFailedWriteRestartsTheEntity() {
    var id = java.util.UUID.randomUUID().toString();
    var delivery = new io.plaza.platform.HeldDelivery<Conversation.Event>();
    var group = testKit.spawn(Conversation.create(id, SETTINGS, clock, Conversation.Fanout.NONE, delivery));
    var replies = testKit.<Conversation.Reply>createTestProbe();
    group.tell(new Conversation.Create("ann", Conversation.Kind.GROUP, "team", Set.of("bob"), replies.getRef()));
    replies.expectMessageClass(Conversation.Info.class);
    group.tell(new Conversation.Post("ann", "m1", "one", replies.getRef()));
    assertEquals(1, replies.expectMessageClass(Conversation.Posted.class).seq());
    delivery.awaitDelivered(1L, 2L);
    var journal = org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit.create(testKit.system());
    delivery.storage = () -> journal.persistedInStorage("Conversation|" + id);
    journal.failNextPersisted("Conversation|" + id);
    group.tell(new Conversation.Post("ann", "m2", "lost with the write", replies.getRef()));
    replies.expectNoMessage(Duration.ofMillis(300));
    // Restarted after its backoff, recovered from the journal: the next message is persisted and delivered.
    replies.awaitAssert(Duration.ofSeconds(10), () -> {
      group.tell(new Conversation.Post("ann", "m3", "three", replies.getRef()));
      assertInstanceOf(Conversation.Posted.class, replies.receiveMessage(Duration.ofSeconds(1)));
      return null;
    });
    delivery.awaitDelivered(1L, 2L, 3L);
  }

  @Test
  void withoutDeliveryByTheEntityEventsSayNothingAboutIt() {
    var c = group("alice", "bob");
    var posted = c.<Conversation.Reply>runCommand(r -> new Conversation.Post("alice", "m1", "hi", r));
    assertEquals(null, posted.event().deliveredThrough(), "tagged: the projection delivers it");
    assertEquals(null, ((Conversation.Active) c.getState()).deliveredThrough());
  }
}
