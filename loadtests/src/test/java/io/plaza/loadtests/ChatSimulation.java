package io.plaza.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.substring;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Chat over WebSockets: 1:1 conversations and groups, every member on a connection of its own, each conversation
 * sending at a fixed rate.
 *
 * <p>Measured as Gatling requests: {@code send → deliver (1:1)} and {@code send → deliver (group)} — from the
 * sender's {@code send} frame to the pushed {@code message} frame on a RECEIVER's connection. Gatling only times a
 * frame against something sent on the same connection, so right after the sender's frame the receiver's device
 * sends a {@code typing} frame (as an app does while its user reads and replies) and awaits the message there; the
 * two sends are microseconds apart. In a group one receiver per message is timed (rotating); every member receives.
 *
 * <p>Parameters: {@code -Dusers} 1:1 conversations (100), {@code -Dchat.groups} groups (10) of
 * {@code -Dchat.group-size} (5), {@code -Drate} messages/s per conversation (1), {@code -Dduration} (60 s).
 * Offered: (users + groups) × rate messages/s.
 *
 * <p>With {@code -Dchat.floor=true} nothing is sent: at the same pace, the sender's and the timed receiver's devices
 * each do a {@code sync} round trip on a conversation with no messages (a frame in, one ask of the conversation
 * entity, a {@code synced} frame out, no storage), measured as {@code sync round trip (floor)}. Two of them are the
 * socket and entity work of a message without its persist, delivery and third frame: the node's CPU for what every
 * design over Pekko HTTP WebSockets and sharding pays per message, which {@code bin/bench} prints beside a message's.
 */
public class ChatSimulation extends Simulation {

  private final int pairs = Plaza.users(100);
  private final int groups = Integer.getInteger("chat.groups", 10);
  private final int groupSize = Integer.getInteger("chat.group-size", 5);
  private final double rate = Plaza.rate(1);
  private final Duration interval = Duration.ofMillis((long) (1000 / rate));
  private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(10);
  private static final boolean FLOOR = Boolean.getBoolean("chat.floor");

  private static String sendFrame() {
    return "{\"type\":\"send\",\"convId\":\"#{convId}\",\"clientMsgId\":\"#{msgId}\",\"body\":\"hello #{msgId}\"}";
  }

  /** Connects the user in session attribute {@code member} as WebSocket {@code socket-<member>} (Gatling keeps a
   * socket in the session attribute of its name). */
  private static ChainBuilder connect(String member) {
    return exec(ws("connect").wsName("socket-" + member).connect("/v1/chat/ws")
        .header("Authorization", Plaza.bearer(member)));
  }

  /** The sender's frame, then the receiver's device awaits the pushed message (see the class comment). */
  private ChainBuilder sendAndDeliver(String name, String sender, Function<Session, String> receiver) {
    if (FLOOR) return exec(syncRoundTrip(s -> sender), syncRoundTrip(receiver));
    return exec(session -> session.set("msgId", Plaza.RUN + "-" + session.userId() + "-"
            + UUID.randomUUID()))
        .exec(ws("send").wsName("socket-" + sender).sendText(sendFrame()))
        .exec(ws("typing").wsName(s -> "socket-" + receiver.apply(s)).sendText("{\"type\":\"typing\",\"convId\":\"#{convId}\"}")
            .await(DELIVERY_TIMEOUT).on(ws.checkTextMessage(name)
                // This message: an earlier one that reaches this member late (it was not the timed one) is skipped.
                .matching(jsonPath("$.clientMsgId").isEL("#{msgId}"))
                .check(jsonPath("$.type").is("message"))));
  }

  /** The floor's round trip on one member's connection: nothing to catch up on, so no storage is read. */
  private static ChainBuilder syncRoundTrip(Function<Session, String> member) {
    return exec(ws("sync round trip (floor)").wsName(s -> "socket-" + member.apply(s))
        .sendText("{\"type\":\"sync\",\"convId\":\"#{convId}\",\"afterSeq\":0}")
        .await(DELIVERY_TIMEOUT).on(ws.checkTextMessage("sync round trip (floor)")
            .matching(jsonPath("$.type").is("synced"))
            .check(jsonPath("$.convId").isEL("#{convId}"))));
  }

  private final ScenarioBuilder direct = scenario("chat 1:1")
      .exec(session -> session.set("a", "c1-" + Plaza.RUN + "-" + session.userId() + "-a")
          .set("b", "c1-" + Plaza.RUN + "-" + session.userId() + "-b"))
      .exec(Plaza.login("a"), Plaza.login("b"))
      .exec(http("open conversation").post("/v1/conversations").header("Authorization", Plaza.bearer("a"))
          .body(StringBody("{\"kind\":\"direct\",\"with\":\"#{b}\"}"))
          .check(status().in(200, 201), jsonPath("$.conversationId").saveAs("convId")))
      .exec(connect("a"), connect("b"))
      .exec(during(Plaza.DURATION).on(pace(interval).exec(sendAndDeliver("send → deliver (1:1)", "a", s -> "b"))))
      .exec(ws("close").wsName("socket-a").close(), ws("close").wsName("socket-b").close());

  private final ScenarioBuilder group = scenario("chat group")
      .exec(session -> {
        for (int i = 0; i < groupSize; i++) {
          session = session.set("m" + i, "cg-" + Plaza.RUN + "-" + session.userId() + "-" + i);
        }
        return session.set("turn", 0);
      })
      .exec(repeat(groupSize, "i").on(exec(session -> session.set("member", session.getString("m"
          + session.getInt("i")))).exec(Plaza.login("member")).exec(session -> session.set("m"
          + session.getInt("i") + "Token", session.getString("memberToken")))))
      .exec(session -> session.set("others", IntStream.range(1, groupSize)
          .mapToObj(i -> "\"" + session.getString("m" + i) + "\"").collect(Collectors.joining(","))))
      .exec(http("open group").post("/v1/conversations").header("Authorization", Plaza.bearer("m0"))
          .body(StringBody("{\"kind\":\"group\",\"title\":\"load\",\"members\":[#{others}]}"))
          .check(status().is(201), jsonPath("$.conversationId").saveAs("convId")))
      .exec(repeat(groupSize, "i").on(exec(ws("connect").wsName(s -> "socket-m" + s.getInt("i")).connect("/v1/chat/ws")
          .header("Authorization", s -> "Bearer " + s.getString("m" + s.getInt("i") + "Token")))))
      .exec(during(Plaza.DURATION).on(pace(interval)
          .exec(session -> session.set("turn", session.getInt("turn") + 1))
          .exec(sendAndDeliver("send → deliver (group)", "m0", s -> "m" + (1 + s.getInt("turn") % (groupSize - 1))))))
      .exec(repeat(groupSize, "i").on(exec(ws("close").wsName(s -> "socket-m" + s.getInt("i")).close())));

  {
    System.out.printf("chat: %d 1:1 conversations + %d groups of %d, %.1f msg/s each = %.0f msg/s offered, %s%n",
        pairs, groups, groupSize, rate, (pairs + groups) * rate, Plaza.DURATION);
    setUp(direct.injectOpen(rampUsers(pairs).during(Plaza.RAMP)),
        group.injectOpen(rampUsers(groups).during(Plaza.RAMP)))
        .protocols(Plaza.protocol());
  }
}
