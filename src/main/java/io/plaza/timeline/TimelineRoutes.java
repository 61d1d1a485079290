package io.plaza.timeline;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.Paging;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The timeline write API and profiles: post, delete a post, follow, mute and block (each user only for themselves),
 * and a user's public profile. Thin: validate, ask the user's entity, map to DTOs.
 */
public final class TimelineRoutes {

  static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,64}");

  public record PostRequest(String text) {}

  public record PostResponse(String postId, String author, Instant createdAt) {}

  public record ProfileResponse(String userId, long posts, int followers, int following) {}

  /** What only the user sees of themselves. */
  public record OwnProfileResponse(String userId, long posts, int followers, Set<String> following,
      Set<String> muted, Set<String> blocked) {}

  public record PostItem(String postId, String author, String text, Instant createdAt) {}

  public record PostsPage(List<PostItem> items, String nextCursor) {}

  public record UsersPage(List<String> items, String nextCursor) {}

  private static final Pattern NUMBER = Pattern.compile("[0-9]{1,18}");
  private static final Pattern CURSOR = Pattern.compile("[A-Za-z0-9_-]{1,200}");

  private final ClusterSharding sharding;
  private final UserPostsRepository posts;
  private final FollowsRepository follows;
  private final HomeTimeline home;
  private final ActorRef<TimelineStream.Command> relay;
  private final ActorSystem<?> system;
  private final Duration askTimeout;

  /** Updates a stream may have queued for a client that does not read; then it is closed (the client re-reads). */
  static final int STREAM_BUFFER = 64;

  public TimelineRoutes(ActorSystem<?> system, UserPostsRepository posts, FollowsRepository follows,
      HomeTimeline home, ActorRef<TimelineStream.Command> relay, Duration askTimeout) {
    this.system = system;
    this.relay = relay;
    this.sharding = ClusterSharding.get(system);
    this.posts = posts;
    this.follows = follows;
    this.home = home;
    this.askTimeout = askTimeout;
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/posts", call -> post(call.userId())),
        Endpoint.authenticated(HttpMethods.DELETE, "/v1/posts/{postId}", call -> {
          var postId = call.param("postId");
          var author = UserTimeline.authorOf(postId);
          if (author == null || !JwtAuth.USER_ID.matcher(author).matches()) {
            return Problems.complete(StatusCodes.NOT_FOUND, "'" + abbreviate(postId) + "' is not a post id");
          }
          return ask(call.userId(), r -> new UserTimeline.DeletePost(postId, r),
              reply -> complete(StatusCodes.NO_CONTENT));
        }),
        Endpoint.get("/v1/users/{id}", call -> withUser(call, "id", id -> ask(id, UserTimeline.GetProfile::new,
            reply -> {
              var p = (UserTimeline.Profile) reply;
              if (id.equals(call.userId())) {
                return complete(StatusCodes.OK, new OwnProfileResponse(id, p.posts(), p.followers(), p.following(),
                    p.muted(), p.blocked()), Json.marshaller());
              }
              return complete(StatusCodes.OK, new ProfileResponse(id, p.posts(), p.followers(),
                  p.following().size()), Json.marshaller());
            }))),
        Endpoint.get("/v1/timeline/home", call -> homeTimeline(call.userId())),
        Endpoint.stream("/v1/timeline/stream", call -> stream(call.userId())),
        Endpoint.get("/v1/users/{id}/posts", call -> withUser(call, "id", id -> userPosts(call.userId(), id))),
        Endpoint.get("/v1/users/{id}/followers", call -> withUser(call, "id", id -> users(id, follows::followers))),
        Endpoint.get("/v1/users/{id}/following", call -> withUser(call, "id", id -> users(id, follows::following))),
        relation(HttpMethods.PUT, "following", (target, r) -> new UserTimeline.Follow(target, r)),
        relation(HttpMethods.DELETE, "following", (target, r) -> new UserTimeline.Unfollow(target, r)),
        relation(HttpMethods.PUT, "mutes", (target, r) -> new UserTimeline.Mute(target, true, r)),
        relation(HttpMethods.DELETE, "mutes", (target, r) -> new UserTimeline.Mute(target, false, r)),
        relation(HttpMethods.PUT, "blocks", (target, r) -> new UserTimeline.Block(target, true, r)),
        relation(HttpMethods.DELETE, "blocks", (target, r) -> new UserTimeline.Block(target, false, r)));
  }

  /**
   * {@code PUT|DELETE /v1/users/{id}/<kind>/{target}}: only for {@code id} = the caller. 204 when done; a follow the
   * followee has not confirmed within the ask timeout answers 202 (it is recorded and will be delivered).
   */
  private Endpoint relation(org.apache.pekko.http.javadsl.model.HttpMethod method, String kind,
      java.util.function.BiFunction<String, ActorRef<UserTimeline.Reply>, UserTimeline.Command> command) {
    return Endpoint.authenticated(method, "/v1/users/{id}/" + kind + "/{target}", call -> withUser(call, "id", id ->
        withUser(call, "target", target -> {
          if (!id.equals(call.userId())) {
            return Problems.complete(StatusCodes.FORBIDDEN, "you may only change your own " + kind);
          }
          return ask(id, r -> command.apply(target, r), reply -> complete(reply instanceof UserTimeline.Pending
              ? StatusCodes.ACCEPTED : StatusCodes.NO_CONTENT));
        })));
  }

  /**
   * The caller's home timeline, newest first, from read models only. Reading it records the caller's activity (the
   * fan-out skips inactive users) and, after a long absence, rebuilds it first. The cursor is opaque and stable while
   * new posts arrive.
   */
  private Route homeTimeline(String user) {
    return Paging.params("cursor", CURSOR, "an opaque cursor", (cursorText, limit) -> {
      var cursor = cursorText == null ? null : TimelineCursor.decode(cursorText);
      if (cursorText != null && cursor == null) {
        return Problems.badRequest("cursor must be the nextCursor of a previous page");
      }
      return onSuccess(home.read(user, cursor, limit), page -> complete(StatusCodes.OK, new PostsPage(
          page.items().stream().map(i -> new PostItem(i.postId(), i.author(), i.text(), i.createdAt())).toList(),
          page.next() == null ? null : page.next().encode()), Json.marshaller()));
    });
  }

  /**
   * Server-sent events: `post` (postId, author, text, createdAt) for each new post of someone the caller follows (or
   * their own), `delete` (postId, author) for each deletion; a heartbeat comment every 15 s.
   */
  private Route stream(String user) {
    return ask(user, UserTimeline.RecordActivity::new, reply -> {
      var activity = (UserTimeline.Activity) reply;
      var hidden = new java.util.HashSet<>(activity.muted());
      hidden.addAll(activity.blocked());
      var source = org.apache.pekko.stream.typed.javadsl.ActorSource.<String>actorRef(m -> false,
          m -> java.util.Optional.empty(), STREAM_BUFFER, org.apache.pekko.stream.OverflowStrategy.fail())
          .preMaterialize(system);
      relay.tell(new TimelineStream.Open(source.first(), user, activity.following(), hidden));
      var events = source.second()
          .recover(org.apache.pekko.stream.BufferOverflowException.class, () -> "{\"type\":\"closed\"}")
          .map(json -> org.apache.pekko.http.javadsl.model.sse.ServerSentEvent.create(json,
              // Updates are written type first (record order), so the prefix names the event.
              json.startsWith("{\"type\":\"delete\"") ? "delete" : json.startsWith("{\"type\":\"post\"")
                  ? "post" : "closed"))
          .keepAlive(Duration.ofSeconds(15),
              org.apache.pekko.http.javadsl.model.sse.ServerSentEvent::heartbeat)
          .mapMaterializedValue(m -> org.apache.pekko.NotUsed.getInstance());
      return complete(StatusCodes.OK, events,
          org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling.toEventStream());
    });
  }

  /** Newest first; the cursor is the number of the oldest post returned (the next page is older). */
  private Route userPosts(String viewer, String author) {
    return Paging.params("cursor", NUMBER, "a post number", (cursor, limit) ->
        ask(author, UserTimeline.GetProfile::new, reply -> {
          var profile = (UserTimeline.Profile) reply;
          if (profile.blocked().contains(viewer)) {
            return Problems.complete(StatusCodes.FORBIDDEN, TimelineProblem.BLOCKED_BY_THEM, author + " blocks you");
          }
          long before = Math.min(cursor == null ? Long.MAX_VALUE : Long.parseLong(cursor), profile.lastPost() + 1);
          return onSuccess(posts.page(author, before, limit), page -> {
            var items = page.stream().map(p -> new PostItem(p.postId(), p.author(), p.text(), p.createdAt()))
                .toList();
            var next = page.size() == limit && page.get(page.size() - 1).number() > 1
                ? String.valueOf(page.get(page.size() - 1).number()) : null;
            return complete(StatusCodes.OK, new PostsPage(items, next), Json.marshaller());
          });
        }));
  }

  /** Followers or following in user-id order; the cursor is the last id returned. */
  private Route users(String user, PageQuery query) {
    return Paging.params("cursor", JwtAuth.USER_ID, "a user id", (cursor, limit) ->
        ask(user, UserTimeline.GetProfile::new, reply -> onSuccess(query.page(user, cursor, limit), page ->
            complete(StatusCodes.OK, new UsersPage(page.userIds(), page.next()), Json.marshaller()))));
  }

  interface PageQuery {
    java.util.concurrent.CompletionStage<FollowsRepository.Page> page(String user, String after, int limit);
  }

  private Route post(String user) {
    return optionalHeaderValueByName("Idempotency-Key", key -> entity(Json.unmarshaller(PostRequest.class), body -> {
      if (key.isPresent() && !IDEMPOTENCY_KEY.matcher(key.get()).matches()) {
        return Problems.badRequest("Idempotency-Key must be 1-64 printable ASCII characters without spaces");
      }
      return ask(user, r -> new UserTimeline.CreatePost(body.text(), key.orElse(null), r), reply -> {
        var accepted = (UserTimeline.PostAccepted) reply;
        return respondWithHeader(RawHeader.create("Idempotent-Replayed", String.valueOf(accepted.replayed())),
            () -> respondWithHeader(Location.create("/v1/posts/" + accepted.postId()),
                () -> complete(accepted.replayed() ? StatusCodes.OK : StatusCodes.CREATED,
                    new PostResponse(accepted.postId(), user, accepted.createdAt()), Json.marshaller())));
      });
    }));
  }

  private Route ask(String user, Function<ActorRef<UserTimeline.Reply>, UserTimeline.Command> command,
      Function<UserTimeline.Reply, Route> onSuccess) {
    return onSuccess(sharding.entityRefFor(UserTimeline.ENTITY_KEY, user).<UserTimeline.Reply>ask(command::apply,
        askTimeout), reply -> reply instanceof UserTimeline.Rejected r ? Problems.complete(r.rejection())
        : onSuccess.apply(reply));
  }

  private static Route withUser(Endpoint.Call call, String param, Function<String, Route> inner) {
    var id = call.param(param);
    if (!JwtAuth.USER_ID.matcher(id).matches()) {
      return Problems.complete(new Rejection(Rejection.Kind.NOT_FOUND, "'" + abbreviate(id) + "' is not a user id"));
    }
    return inner.apply(id);
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
