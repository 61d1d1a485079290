package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
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
import org.apache.pekko.projection.ProjectionId;
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
 */
class TaggedProjectionsIT {

  private static PlazaNode node;

  /** A test event; its tag is chosen by the command. */
  public record Noted(String text, String tag) implements CborSerializable {}

  private record Note(String text, String tag, ActorRef<Done> replyTo) {}

  private static Behavior<Note> notebook(String id) {
    return new EventSourcedBehavior<Note, Noted, List<String>>(PersistenceId.of("TakeOverNotebook", id)) {
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

  @BeforeAll
  static void start() {
    node = TestNodes.start();
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

  /** Collects what the consolidated projection hands over, per tag. */
  private static final class Collecting extends Handler<List<org.apache.pekko.projection.eventsourced.EventEnvelope<Noted>>> {
    static final List<String> seen = new CopyOnWriteArrayList<>();

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

    TaggedProjections.<Noted>start(node.system(), Cassandra.session(node.system()), "merged-" + run,
        List.of("old-fast", "old-slow"), List.of(resumed, fresh), 10, Duration.ofMillis(50),
        List.of(tag -> new Collecting()));
    ItSupport.eventually(Duration.ofSeconds(30), () -> {
      var seen = new ArrayList<>(Collecting.seen);
      seen.sort(String::compareTo);
      // a1 was handled by both old projections; a2..a4 by at least one not, so they come again; b from the start.
      assertEquals(List.of("a2", "a3", "a4", "b1", "b2"), seen);
      return seen;
    });
  }
}
