package io.plaza.timeline;

import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.plaza.platform.ApiClient;
import io.plaza.platform.HeldDelivery;
import io.plaza.platform.ItSupport;
import io.plaza.platform.TestNodes;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;

/** A user timeline delivers, in its next incarnation, what the previous one persisted but did not deliver. */
class TimelineRecoveryIT {

  /**
   * Posts whose own delivery never completed (a crash between persist and delivery, held here by a delivery that
   * never answers) reach `user_posts` and the posts topic through the author's next incarnation, in order and before
   * anything newer; none of the events was tagged.
   */
  @Test
  void eventsPersistedButNotDeliveredAreDeliveredByTheNextIncarnation() throws Exception {
    var author = "held-" + UUID.randomUUID();
    try (var first = TestNodes.start()) {
      var system = first.system();
      var settings = UserTimeline.Settings.fromConfig(system.settings().config().getConfig("plaza.timeline"),
          Duration.ofSeconds(5));
      ActorRef<UserTimeline.Command> entity = system.systemActorOf(UserTimeline.create(author, settings,
          Clock.systemUTC(), user -> system.ignoreRef(), HeldDelivery.<UserTimeline.Event>forever()),
          "undelivered", Props.empty());
      for (int i = 1; i <= 2; i++) {
        int n = i;
        var accepted = AskPattern.<UserTimeline.Command, UserTimeline.Reply>ask(entity,
            r -> new UserTimeline.CreatePost("held " + n, null, r), Duration.ofSeconds(15), system.scheduler())
            .toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertEquals(author + ":" + n, assertInstanceOf(UserTimeline.PostAccepted.class, accepted).postId());
      }
      // Persisted, answered, not delivered: no `user_posts` row, and the events carry no tag.
      var session = io.plaza.platform.Cassandra.session(system);
      var posts = new CassandraUserPostsRepository(session, TestNodes.KEYSPACE);
      assertEquals(List.of(), posts.page(author, 3, 10).toCompletableFuture().get(20, TimeUnit.SECONDS));
      assertEquals(List.of(), ItSupport.taggedAs(session, "UserTimeline|" + author));
    }
    try (var second = TestNodes.start()) {
      var api = new ApiClient(second.httpPort());
      var token = api.token(author);
      // The post wakes the entity, which delivers the two held posts before this one.
      var third = api.post("/v1/posts", token, "{\"text\":\"third\"}", Map.of());
      assertEquals(201, third.status(), third.toString());
      var published = readTopic(TestNodes.TIMELINE_TOPIC, author, 3, Duration.ofSeconds(30));
      // Event 1 is the author's Registered, which has no message on this topic.
      assertEquals(List.of(2L, 3L, 4L), published.stream().map(m -> m.get("sequenceNr").asLong()).toList(),
          published.toString());
      assertEquals(List.of("held 1", "held 2", "third"), published.stream().map(m -> m.get("text").asText()).toList());
      eventually(Duration.ofSeconds(20), () -> {
        var page = posts(api, token, author);
        assertEquals(List.of("third", "held 2", "held 1"), page, page.toString());
        return page;
      });
    }
  }

  private static List<String> posts(ApiClient api, String token, String author) {
    var page = api.get("/v1/users/" + author + "/posts", token);
    assertEquals(200, page.status(), page.toString());
    return page.json().findValuesAsText("text");
  }
}
