package io.plaza.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Presence and connections of one user's session: contacts told once per change, grace, heartbeats, last seen. */
class ChatSessionTest {

  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
  /** Short, for the heartbeat test; the others use a long one so that their devices need not heartbeat. */
  private static final Duration HEARTBEAT = Duration.ofMillis(200);
  private static final Duration GRACE = Duration.ofMillis(400);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Three users who are each other's contacts, with real sessions and an in-memory last-seen store. */
  private static final class World implements ChatSession.Directory {
    final Map<String, ActorRef<ChatSession.Command>> sessions = new ConcurrentHashMap<>();
    final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    final Map<String, Set<String>> contacts = Map.of("alice", Set.of("bob", "carol"), "bob", Set.of("alice"),
        "carol", Set.of("alice"));
    final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    final Duration heartbeat;

    World(Duration heartbeat) {
      this.heartbeat = heartbeat;
    }

    World() {
      this(Duration.ofMinutes(1));
    }

    ActorRef<ChatSession.Command> start(String user) {
      return sessions.computeIfAbsent(user, u -> testKit.spawn(ChatSession.create(u, new ChatSession.Settings(
          heartbeat, GRACE, Duration.ofSeconds(3)), this, clock)));
    }

    @Override
    public CompletionStage<List<String>> contacts(String user) {
      return CompletableFuture.completedFuture(List.copyOf(contacts.getOrDefault(user, Set.of())));
    }

    @Override
    public CompletionStage<Optional<Instant>> lastSeen(String user) {
      return CompletableFuture.completedFuture(Optional.ofNullable(lastSeen.get(user)));
    }

    @Override
    public CompletionStage<Done> saveLastSeen(String user, Instant at) {
      lastSeen.put(user, at);
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public RecipientRef<ChatSession.Command> session(String user) {
      return start(user);
    }
  }

  private static JsonNode tree(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (java.io.IOException e) {
      throw new AssertionError(json, e);
    }
  }

  /** A device: a probe for the frames it is pushed. */
  private static TestProbe<String> device() {
    return testKit.createTestProbe();
  }

  /** The next frame saying that {@code of} is online / offline (other frames before it are skipped). */
  private static JsonNode presenceFrame(TestProbe<String> device, String of, boolean online) {
    var found = new java.util.concurrent.atomic.AtomicReference<JsonNode>();
    device.fishForMessage(Duration.ofSeconds(3), m -> {
      var frame = tree(m);
      if ("presence".equals(frame.path("type").asText()) && of.equals(frame.path("user").asText())
          && frame.path("online").asBoolean() == online) {
        found.set(frame);
        return FishingOutcomes.complete();
      }
      return FishingOutcomes.continueAndIgnore();
    });
    return found.get();
  }

  private static ChatSession.Presence presence(ActorRef<ChatSession.Command> session) {
    var probe = testKit.<ChatSession.Presence>createTestProbe();
    session.tell(new ChatSession.GetPresence(probe.ref()));
    return probe.receiveMessage();
  }

  @Test
  void contactsAreToldOnlineOnceAndANewDeviceLearnsItsContactsPresence() {
    var world = new World();
    world.lastSeen.put("carol", NOW.minusSeconds(3600));
    var bob = world.start("bob");
    var bobPhone = device();
    bob.tell(new ChatSession.Attach(bobPhone.ref(), false));
    // alice is offline and never seen: bob's device is told so on connect.
    assertTrue(presenceFrame(bobPhone, "alice", false).path("at").isMissingNode());

    var alice = world.start("alice");
    var alicePhone = device();
    alice.tell(new ChatSession.Attach(alicePhone.ref(), false));
    presenceFrame(bobPhone, "alice", true);

    // The new device is told its contacts' presence: bob online, carol away since her last-seen.
    var seen = new HashSet<String>();
    for (int i = 0; i < 2; i++) {
      var frame = tree(alicePhone.receiveMessage(Duration.ofSeconds(3)));
      assertEquals("presence", frame.path("type").asText());
      var user = frame.path("user").asText();
      seen.add(user);
      if (user.equals("bob")) assertTrue(frame.path("online").asBoolean());
      if (user.equals("carol")) {
        assertFalse(frame.path("online").asBoolean());
        assertEquals(NOW.minusSeconds(3600).toString(), frame.path("at").asText());
      }
    }
    assertEquals(Set.of("bob", "carol"), seen);

    // A second device of alice changes nothing for her contacts.
    alice.tell(new ChatSession.Attach(device().ref(), false));
    bobPhone.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void offlineIsAnnouncedAfterTheGracePeriodWithLastSeenAndAQuickReconnectDoesNotFlap() {
    var world = new World();
    var alice = world.start("alice");
    var alicePhone = device();
    alice.tell(new ChatSession.Attach(alicePhone.ref(), false));
    assertTrue(presence(alice).online()); // and its "online" already went to bob's (empty) session
    var bob = world.start("bob");
    var bobPhone = device();
    bob.tell(new ChatSession.Attach(bobPhone.ref(), false));
    presenceFrame(bobPhone, "alice", true);

    // Gone and back within the grace: bob hears nothing.
    alice.tell(new ChatSession.Detach(alicePhone.ref()));
    var aliceLaptop = device();
    alice.tell(new ChatSession.Attach(aliceLaptop.ref(), false));
    bobPhone.expectNoMessage(GRACE.plusMillis(200));
    assertTrue(presence(alice).online());

    // Gone for good: offline with last seen, after the grace, and the last seen is kept durably.
    alice.tell(new ChatSession.Detach(aliceLaptop.ref()));
    var offline = presenceFrame(bobPhone, "alice", false);
    assertEquals(NOW.toString(), offline.path("at").asText());
    assertEquals(NOW, world.lastSeen.get("alice"));
    assertEquals(new ChatSession.Presence(false, NOW), presence(alice));
  }

  /** A connection actor that records what it is pushed; it can be stopped like a closed WebSocket. */
  private static ActorRef<String> recorder(List<String> frames) {
    return testKit.spawn(Behaviors.<String>receiveMessage(m -> {
      frames.add(m);
      return Behaviors.same();
    }));
  }

  @Test
  void aConnectionThatStopsOrStopsHeartbeatingIsDroppedAndHeartbeatsKeepOneAlive() throws Exception {
    var world = new World(HEARTBEAT);
    var alice = world.start("alice");
    List<String> closedFrames = new CopyOnWriteArrayList<>();
    List<String> silentFrames = new CopyOnWriteArrayList<>();
    List<String> liveFrames = new CopyOnWriteArrayList<>();
    var closed = recorder(closedFrames);
    var silent = recorder(silentFrames);
    var live = recorder(liveFrames);
    alice.tell(new ChatSession.Attach(closed, false));
    alice.tell(new ChatSession.Attach(silent, false));
    alice.tell(new ChatSession.Attach(live, false));
    testKit.stop(closed);
    long until = System.nanoTime() + HEARTBEAT.multipliedBy(6).toNanos();
    while (System.nanoTime() < until) {
      Thread.sleep(HEARTBEAT.toMillis() / 2);
      alice.tell(new ChatSession.Attach(live, true));
    }
    // The stopped one is gone (death watch), the silent one too (no heartbeat for 3 intervals); only the live one
    // is pushed to, and the user is still online.
    alice.tell(new ChatSession.Push("{\"type\":\"message\"}"));
    assertTrue(presence(alice).online());
    Thread.sleep(300);
    assertTrue(liveFrames.contains("{\"type\":\"message\"}"), liveFrames.toString());
    assertFalse(silentFrames.contains("{\"type\":\"message\"}"), silentFrames.toString());
    assertFalse(closedFrames.contains("{\"type\":\"message\"}"), closedFrames.toString());
    assertEquals(2, silentFrames.size(), "its contacts' presence when it attached: " + silentFrames);

    // Without heartbeats the last connection goes too, and with it the user.
    Thread.sleep(HEARTBEAT.multipliedBy(4).plus(GRACE).toMillis());
    assertFalse(presence(alice).online());
  }

  @Test
  void aFreshSessionAnswersLastSeenFromTheDurableStore() {
    var world = new World();
    world.lastSeen.put("carol", NOW.minusSeconds(60));
    assertEquals(new ChatSession.Presence(false, NOW.minusSeconds(60)), presence(world.start("carol")));
    assertEquals(new ChatSession.Presence(false, null), presence(world.start("dave")));
  }

  @Test
  void aRestartedSessionTellsAHeartbeatingConnectionToResyncAndAKnownOneNothing() {
    var world = new World();
    var alice = world.start("alice");
    var phone = device();
    alice.tell(new ChatSession.Attach(phone.ref(), false));
    alice.tell(new ChatSession.Attach(phone.ref(), true)); // an ordinary heartbeat: nothing to say
    alice.tell(new ChatSession.Push("{\"type\":\"message\",\"seq\":1}"));
    // Its contacts' presence, then the push; never a resync.
    var frames = new java.util.ArrayList<String>();
    do {
      frames.add(phone.receiveMessage(Duration.ofSeconds(3)));
    } while (!frames.get(frames.size() - 1).contains("\"seq\":1"));
    assertFalse(frames.stream().anyMatch(f -> f.contains("resync")), frames.toString());

    // The session's node died: a new incarnation first hears of the phone by its heartbeat, and pushes made before
    // that went nowhere, so the phone is told to sync.
    var restarted = new World().start("alice");
    restarted.tell(new ChatSession.Attach(phone.ref(), true));
    JsonNode told;
    do {
      told = tree(phone.receiveMessage(Duration.ofSeconds(3))); // contacts' presence may still be on its way
    } while (told.path("type").asText().equals("presence"));
    assertEquals("resync", told.path("type").asText());
    assertTrue(told.path("detail").asText().contains("sync"), told.toString());
  }
}
