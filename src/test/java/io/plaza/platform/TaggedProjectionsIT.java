package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.cassandra.internal.CassandraOffsetStore;
import org.apache.pekko.projection.javadsl.Handler;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.FutureConverters;

/**
 * A consolidated projection taking over from the projections it replaces, on the real Cassandra: it starts from the
 * oldest offset they saved (so no read model misses an event), and from the start when one of them saved none. The
 * replaced projections' offsets are written by pekko-projection's own offset
 * store, so the test also pins the storage format the take-over reads.
 *
 * <p>And late tag writes (a `tag_views` row appearing seconds after its time, made by {@link
 * BackdatingCassandraJournal}) with the node's short eventual-consistency delay: a running projection still gets
 * one, and a restarted one gets one behind its saved offset only thanks to the restart rewind.
 */
class TaggedProjectionsIT {

  private static final String READ_JOURNAL =
      org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal.Identifier();
  private static PlazaNode node;

  /** A test event; its tag is chosen by the command. */
  public record Noted(String text, String tag) implements CborSerializable {}

  private record Note(String text, String tag, ActorRef<Done> replyTo) {}

  private static Behavior<Note> notebook(String id) {
    return notebook(id, "");
  }

  /** {@code journal}: the journal plugin's config path ("" for the default one). */
  private static Behavior<Note> notebook(String id, String journal) {
    return new EventSourcedBehavior<Note, Noted, List<String>>(PersistenceId.of("TakeOverNotebook", id)) {
      @Override
      public String journalPluginId() {
        return journal;
      }

      @Override
      public List<String> emptyState() {
        return List.of();
      }

      @Override
      public CommandHandler<Note, Noted, List<String>> commandHandler() {
        return (state, note) -> Effect().persist(new Noted(note.text(), note.tag()))
            .thenRun(s -> note.replyTo().tell(Done.getInstance()));
      }

      @Override
      public EventHandler<List<String>, Noted> eventHandler() {
        return (state, e) -> state;
      }

      @Override
      public Set<String> tagsFor(Noted event) {
        return Set.of(event.tag());
      }
    };
  }

  /** The journal that backdates events noted "late <ms>:…". */
  private static final String BACKDATING = "plaza.backdating-persistence.journal";

  @BeforeAll
  static void start() {
    node = PlazaNode.start(TestNodes.config("""
        plaza.backdating-persistence = ${pekko.persistence.cassandra}
        plaza.backdating-persistence.journal.class = "io.plaza.platform.BackdatingCassandraJournal"
        """));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static void note(ActorRef<Note> notebook, String text, String tag) {
    AskPattern.<Note, Done>ask(notebook, r -> new Note(text, tag, r), Duration.ofSeconds(10),
        node.system().scheduler()).toCompletableFuture().join();
  }

  private static List<EventEnvelope> tagged(String tag, int expected) {
    var journal = PersistenceQuery.get(node.system())
        .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
    return ItSupport.eventually(Duration.ofSeconds(30), () -> {
      var found = journal.currentEventsByTag(tag, Offset.noOffset()).runWith(Sink.seq(), node.system())
          .toCompletableFuture().join();
      assertEquals(expected, found.size());
      return found;
    });
  }

  private static void save(String projection, String tag, Offset offset) {
    var store = new CassandraOffsetStore(node.system());
    FutureConverters.asJava(store.saveOffset(ProjectionId.of(projection, tag), offset)).toCompletableFuture().join();
  }

  /** Collects the texts a projection hands over. */
  private static final class Collecting
      extends Handler<List<org.apache.pekko.projection.eventsourced.EventEnvelope<Noted>>> {
    final List<String> seen;

    Collecting(List<String> seen) {
      this.seen = seen;
    }

    @Override
    public CompletionStage<Done> process(
        List<org.apache.pekko.projection.eventsourced.EventEnvelope<Noted>> envelopes) {
      for (var envelope : envelopes) seen.add(envelope.event().text());
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }

  @Test
  void startsWhereTheSlowestReplacedProjectionLeftOffAndFromTheStartWhenOneSavedNothing() {
    var run = TestNodes.RUN_ID;
    var resumed = "takeover-a-" + run;
    var fresh = "takeover-b-" + run;
    var notebook = node.system().systemActorOf(notebook("n-" + run), "notebook-" + run,
        org.apache.pekko.actor.typed.Props.empty());
    for (var text : List.of("a1", "a2", "a3", "a4")) note(notebook, text, resumed);
    for (var text : List.of("b1", "b2")) note(notebook, text, fresh);
    var a = tagged(resumed, 4);

    // On tag a, "old-fast" had handled a3 and "old-slow" only a1; on tag b, "old-fast" had handled b2 and "old-slow"
    // nothing yet.
    save("old-fast", resumed, a.get(2).offset());
    save("old-slow", resumed, a.get(0).offset());
    save("old-fast", fresh, tagged(fresh, 2).get(1).offset());

    var store = new TaggedProjections.OffsetStore(Cassandra.session(node.system()), TestNodes.KEYSPACE,
        "offset_store");
    assertEquals(a.get(0).offset(),
        store.oldest(List.of("old-fast", "old-slow"), resumed).toCompletableFuture().join().orElseThrow());
    assertTrue(store.oldest(List.of("old-fast", "old-slow"), fresh).toCompletableFuture().join().isEmpty());

    var collected = new CopyOnWriteArrayList<String>();
    for (var tag : List.of(resumed, fresh)) {
      spawn(TaggedProjections.<Noted>projection(node.system(), Cassandra.session(node.system()), "merged-" + run,
          List.of("old-fast", "old-slow"), tag, 10, Duration.ofMillis(50), List.of(t -> new Collecting(collected)),
          Duration.ZERO, READ_JOURNAL)); // taking over exactly at the saved offsets; the rewind is tested below
    }
    ItSupport.eventually(Duration.ofSeconds(30), () -> {
      var seen = new ArrayList<>(collected);
      seen.sort(String::compareTo);
      // a1 was handled by both old projections; a2..a4 by at least one not, so they come again; b from the start.
      assertEquals(List.of("a2", "a3", "a4", "b1", "b2"), seen);
      return seen;
    });
  }

  private static ActorRef<ProjectionBehavior.Command> spawn(
      GroupedProjection<Offset, org.apache.pekko.projection.eventsourced.EventEnvelope<Noted>> projection) {
    return node.system().systemActorOf(ProjectionBehavior.create(projection),
        "projection-" + UUID.randomUUID(), Props.empty());
  }

  private static ActorRef<ProjectionBehavior.Command> project(String name, String tag, List<String> into,
      Duration rewind) {
    return spawn(TaggedProjections.<Noted>projection(node.system(), Cassandra.session(node.system()), name,
        List.of(), tag, 10, Duration.ofMillis(50), List.of(t -> new Collecting(into)), rewind, READ_JOURNAL));
  }

  private static void stop(ActorRef<ProjectionBehavior.Command> projection) {
    var probe = TestProbe.<Object>create(node.system());
    projection.tell(ProjectionBehavior.stopMessage());
    probe.expectTerminated(projection, Duration.ofSeconds(30));
  }

  private static ActorRef<Note> notebook(String name, String journal, String run) {
    return node.system().systemActorOf(notebook(name + "-" + run, journal), name + "-" + run, Props.empty());
  }

  @Test
  void aRunningProjectionGetsATagWriteThatLandsAfterTheQueryPassedItsTime() {
    var run = TestNodes.RUN_ID;
    var tag = "late-live-" + run;
    var seen = new CopyOnWriteArrayList<String>();
    var projection = project("late-live-" + run, tag, seen, Duration.ofSeconds(10));
    note(notebook("live-a", "", run), "on time", tag);
    ItSupport.eventuallyHolds(Duration.ofSeconds(30), () -> assertTrue(seen.contains("on time"), "seen: " + seen));

    // Its time is 2.5 s ago: behind what the query has read (it read "on time"), 2 s past the consistency delay.
    note(notebook("live-b", BACKDATING, run), "late 2500:behind", tag);
    ItSupport.eventuallyHolds(Duration.ofSeconds(20),
        () -> assertTrue(seen.contains("late 2500:behind"), "seen: " + seen));
    stop(projection);
  }

  @Test
  void aLateTagWriteBehindTheSavedOffsetIsMissedByAPlainRestartAndHandledByARewoundOne() {
    var run = TestNodes.RUN_ID;
    var tag = "late-restart-" + run;
    var name = "late-restart-" + run;
    var offsets = new TaggedProjections.OffsetStore(Cassandra.session(node.system()), TestNodes.KEYSPACE,
        "offset_store");
    var seen = new CopyOnWriteArrayList<String>();
    var projection = project(name, tag, seen, Duration.ZERO);
    note(notebook("restart-a", "", run), "first", tag);
    var saved = ItSupport.eventually(Duration.ofSeconds(30), () -> {
      assertTrue(seen.contains("first"), "seen: " + seen);
      // The offset is saved after the handler ran: not yet there is a reason to look again, not a failure.
      return offsets.read(name, tag).toCompletableFuture().join()
          .orElseThrow(() -> new AssertionError("no offset saved yet"));
    });
    stop(projection);

    // While the projection is down, a row lands 8 s late: its time is before the offset the projection saved.
    var late = notebook("restart-b", BACKDATING, run);
    note(late, "late 8000:behind", tag);
    note(late, "after", tag);
    var rows = tagged(tag, 3);
    assertEquals("late 8000:behind", ((Noted) rows.get(0).event()).text(), "the late row sorts first");
    assertTrue(((org.apache.pekko.persistence.query.TimeBasedUUID) rows.get(0).offset()).compareTo(saved) < 0,
        "the late row is behind the saved offset");

    // Restarted from the saved offset as it is, the query starts after the late row and never looks back.
    projection = project(name, tag, seen, Duration.ZERO);
    ItSupport.eventuallyHolds(Duration.ofSeconds(30), () -> assertTrue(seen.contains("after"), "seen: " + seen));
    sleep(Duration.ofSeconds(3)); // three back-track rounds
    assertFalse(seen.contains("late 8000:behind"), "a plain restart misses it: " + seen);
    stop(projection);

    // Restarted 20 s before its saved offset, it handles the late row (and the window again).
    project(name, tag, seen, Duration.ofSeconds(20));
    ItSupport.eventuallyHolds(Duration.ofSeconds(30),
        () -> assertTrue(seen.contains("late 8000:behind"), "seen: " + seen));
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aSavedOffsetIsRewoundByTheGivenTime() {
    var saved = Offset.timeBasedUUID(UUID.fromString("8d7f0a00-0f2b-11f1-8000-000000000000"));
    var rewound = (org.apache.pekko.persistence.query.TimeBasedUUID) TaggedProjections.rewound(saved,
        Duration.ofSeconds(10));
    assertEquals(10_000L, com.datastax.oss.driver.api.core.uuid.Uuids.unixTimestamp(
        ((org.apache.pekko.persistence.query.TimeBasedUUID) saved).value())
        - com.datastax.oss.driver.api.core.uuid.Uuids.unixTimestamp(rewound.value()));
    assertEquals(saved, TaggedProjections.rewound(saved, Duration.ZERO));
    assertEquals(Offset.sequence(5), TaggedProjections.rewound(Offset.sequence(5), Duration.ofSeconds(10)));
  }
}
