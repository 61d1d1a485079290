package io.plaza.chat;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
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
 * The conversation REST API: create conversations, manage members, post (REST twin of the WebSocket send) and page
 * through the history. Thin: validate, ask the entity or read `chat_history`, map to DTOs.
 */
public final class ChatRoutes {

  static final Pattern CONVERSATION_ID = Pattern.compile("(dm-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
      + "-[0-9a-f]{12}");
  static final Pattern CLIENT_MSG_ID = Pattern.compile("[\\x21-\\x7E]{1,64}");
  private static final Pattern NUMBER = Pattern.compile("[0-9]{1,18}");
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 200;

  /** {@code with}: the other user of a direct conversation; {@code members} and {@code title}: a group's. */
  public record CreateRequest(String kind, String with, List<String> members, String title) {}

  public record MembersRequest(List<String> users) {}

  public record PostRequest(String clientMsgId, String body) {}

  public record ConversationResponse(
      String conversationId, String kind, String title, String owner, Set<String> admins, Set<String> members,
      long lastSeq, long unread) {
    static ConversationResponse of(Conversation.Info i, String user) {
      return new ConversationResponse(i.conversationId(), i.kind().name().toLowerCase(java.util.Locale.ROOT),
          i.title(), i.owner(), i.admins(), i.members(), i.lastSeq(), i.unread(user));
    }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record InboxItem(String conversationId, String kind, String title, long lastSeq, String lastSender,
      String lastBody, Instant lastAt, long unread) {
    static InboxItem of(ChatInboxRepository.Entry e) {
      return new InboxItem(e.conversationId(), e.kind(), e.title(), e.lastSeq(), e.lastSender(), e.lastBody(),
          e.lastAt(), e.unread());
    }
  }

  public record InboxResponse(List<InboxItem> conversations) {}

  public record PostedResponse(String conversationId, long seq, Instant sentAt) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record MessageResponse(long seq, String sender, String clientMsgId, String body, Instant sentAt,
      Instant editedAt, boolean deleted) {}

  public record MessagesResponse(String conversationId, List<MessageResponse> messages, String nextCursor) {}

  private final ClusterSharding sharding;
  private final ChatHistoryRepository history;
  private final ChatInboxRepository inbox;
  private final Duration askTimeout;

  public ChatRoutes(ActorSystem<?> system, ChatHistoryRepository history, ChatInboxRepository inbox,
      Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.history = history;
    this.inbox = inbox;
    this.askTimeout = askTimeout;
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/conversations", call -> create(call.userId())),
        Endpoint.get("/v1/conversations", call -> onSuccess(inbox.inbox(call.userId()), entries -> complete(
            StatusCodes.OK, new InboxResponse(entries.stream().map(InboxItem::of).toList()), Json.marshaller()))),
        Endpoint.get("/v1/conversations/{id}", call -> withId(call, id -> ask(id,
            r -> new Conversation.GetInfo(call.userId(), r),
            reply -> complete(StatusCodes.OK, ConversationResponse.of((Conversation.Info) reply, call.userId()),
                Json.marshaller())))),
        Endpoint.post("/v1/conversations/{id}/members", call -> withId(call, id ->
            entity(Json.unmarshaller(MembersRequest.class), body -> {
              var users = userIds(body.users());
              if (users == null) return Problems.badRequest("users must be 1 to 500 valid user ids");
              return ask(id, r -> new Conversation.AddMembers(call.userId(), users, r), reply -> complete(
                  StatusCodes.OK, ConversationResponse.of((Conversation.Info) reply, call.userId()),
                  Json.marshaller()));
            }))),
        Endpoint.authenticated(HttpMethods.DELETE, "/v1/conversations/{id}/members/{user}", call -> withId(call,
            id -> {
              var user = call.param("user");
              if (!JwtAuth.USER_ID.matcher(user).matches()) {
                return Problems.complete(StatusCodes.NOT_FOUND, "'" + abbreviate(user) + "' is not a user id");
              }
              return ask(id, r -> new Conversation.RemoveMember(call.userId(), user, r),
                  reply -> complete(StatusCodes.NO_CONTENT));
            })),
        Endpoint.post("/v1/conversations/{id}/messages", call -> withId(call, id ->
            entity(Json.unmarshaller(PostRequest.class), body -> {
              if (body.clientMsgId() == null || !CLIENT_MSG_ID.matcher(body.clientMsgId()).matches()) {
                return Problems.badRequest("clientMsgId is required: 1-64 printable ASCII characters without spaces; "
                    + "a retry with the same id creates nothing");
              }
              if (body.body() == null) return Problems.badRequest("body is required");
              return ask(id, r -> new Conversation.Post(call.userId(), body.clientMsgId(), body.body(), r), reply -> {
                var posted = (Conversation.Posted) reply;
                return respondWithHeader(RawHeader.create("Idempotent-Replayed", String.valueOf(posted.replayed())),
                    () -> complete(posted.replayed() ? StatusCodes.OK : StatusCodes.CREATED,
                        new PostedResponse(id, posted.seq(), posted.sentAt()), Json.marshaller()));
              });
            }))),
        Endpoint.get("/v1/conversations/{id}/messages", call -> withId(call, id -> messages(call.userId(), id))));
  }

  private Route create(String user) {
    return entity(Json.unmarshaller(CreateRequest.class), body -> {
      if ("direct".equals(body.kind())) {
        if (body.with() == null || !JwtAuth.USER_ID.matcher(body.with()).matches() || body.with().equals(user)) {
          return Problems.badRequest("a direct conversation needs 'with': another user's id");
        }
        var id = Conversation.directId(user, body.with());
        return ask(id, r -> new Conversation.Create(user, Conversation.Kind.DIRECT, null, Set.of(body.with()), r),
            reply -> created(id, (Conversation.Info) reply, user));
      }
      if ("group".equals(body.kind())) {
        var members = userIds(body.members() == null ? List.of() : body.members());
        if (members == null && body.members() != null && !body.members().isEmpty()) {
          return Problems.badRequest("members must be valid user ids");
        }
        if (body.title() != null && body.title().length() > 100) {
          return Problems.badRequest("title must be at most 100 characters");
        }
        var id = UUID.randomUUID().toString();
        var initial = members == null ? Set.<String>of() : members;
        return ask(id, r -> new Conversation.Create(user, Conversation.Kind.GROUP, body.title(), initial, r),
            reply -> created(id, (Conversation.Info) reply, user));
      }
      return Problems.badRequest("kind must be 'direct' or 'group'");
    });
  }

  private static Route created(String id, Conversation.Info info, String user) {
    return respondWithHeader(Location.create("/v1/conversations/" + id),
        () -> complete(StatusCodes.CREATED, ConversationResponse.of(info, user), Json.marshaller()));
  }

  /** Newest first; the cursor is the seq of the oldest message returned (the next page is older). */
  private Route messages(String user, String id) {
    return parameterOptional("before", before -> parameterOptional("limit", limitParam -> {
      if (before.isPresent() && !NUMBER.matcher(before.get()).matches()) {
        return Problems.badRequest("before must be the nextCursor of a previous page (a seq)");
      }
      if (limitParam.isPresent() && (!NUMBER.matcher(limitParam.get()).matches()
          || Long.parseLong(limitParam.get()) < 1 || Long.parseLong(limitParam.get()) > MAX_PAGE)) {
        return Problems.badRequest("limit must be an integer from 1 to " + MAX_PAGE);
      }
      int limit = limitParam.map(Integer::parseInt).orElse(DEFAULT_PAGE);
      // Membership comes from the entity; the messages from the read model, up to the entity's last seq.
      return ask(id, r -> new Conversation.GetInfo(user, r), reply -> {
        var info = (Conversation.Info) reply;
        long upTo = Math.min(before.map(Long::parseLong).orElse(Long.MAX_VALUE), info.lastSeq() + 1);
        return onSuccess(history.page(id, upTo, limit), page -> {
          var next = page.size() == limit && page.get(page.size() - 1).seq() > 1
              ? String.valueOf(page.get(page.size() - 1).seq()) : null;
          var items = page.stream().map(m -> new MessageResponse(m.seq(), m.sender(), m.clientMsgId(), m.body(),
              m.sentAt(), m.editedAt(), m.deleted())).toList();
          return complete(StatusCodes.OK, new MessagesResponse(id, items, next), Json.marshaller());
        });
      });
    }));
  }

  private Route ask(String id, Function<ActorRef<Conversation.Reply>, Conversation.Command> command,
      Function<Conversation.Reply, Route> onSuccess) {
    return onSuccess(sharding.entityRefFor(Conversation.ENTITY_KEY, id).<Conversation.Reply>ask(command::apply,
        askTimeout), reply -> reply instanceof Conversation.Rejected r ? Problems.complete(r.rejection())
        : onSuccess.apply(reply));
  }

  /** Valid user ids (1 to 500 of them), or null. */
  private static Set<String> userIds(List<String> users) {
    if (users == null || users.isEmpty() || users.size() > 500) return null;
    var set = new LinkedHashSet<String>();
    for (var u : users) {
      if (u == null || !JwtAuth.USER_ID.matcher(u).matches()) return null;
      set.add(u);
    }
    return set;
  }

  private static Route withId(Endpoint.Call call, Function<String, Route> inner) {
    var id = call.param("id");
    if (!CONVERSATION_ID.matcher(id).matches()) {
      return Problems.complete(new Rejection(Rejection.Kind.NOT_FOUND,
          "conversation id '" + abbreviate(id) + "' is not a valid id"));
    }
    return inner.apply(id);
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
