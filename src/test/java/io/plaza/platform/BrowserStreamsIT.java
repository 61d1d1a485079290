package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * What a browser does on a real node: ask for a stream ticket with its token, then open a WebSocket or an
 * EventSource with {@code ?ticket=} (it cannot set headers there). The ticket authenticates as its user, once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrowserStreamsIT {

  private NodeUnderTest it;
  private ApiClient api;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("browser-streams-it");
    api = it.api;
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  private String ticket(String user) {
    var issued = api.post("/v1/stream-tickets", api.token(user), "", Map.of());
    assertEquals(201, issued.status(), issued.toString());
    assertEquals("no-store", issued.header("Cache-Control"));
    var expiresAt = Instant.parse(issued.json().get("expiresAt").asText());
    assertTrue(expiresAt.isAfter(Instant.now()) && expiresAt.isBefore(Instant.now().plusSeconds(31)), expiresAt
        + " is about 30 s away");
    var ticket = issued.json().get("ticket").asText();
    assertTrue(StreamTickets.FORMAT.matcher(ticket).matches(), ticket);
    return ticket;
  }

  @Test
  void aChatWebSocketOpenedWithATicketActsAsItsUserAndTheTicketWorksOnce() {
    var conversation = api.post("/v1/conversations", api.token("tk-ann"),
        "{\"kind\":\"group\",\"members\":[\"tk-bob\"]}", Map.of());
    assertEquals(201, conversation.status(), conversation.toString());
    var conv = conversation.json().get("conversationId").asText();
    var ticket = ticket("tk-ann");
    try (var ann = it.socket("/v1/chat/ws?ticket=" + ticket, null)) {
      ann.send("{\"type\":\"send\",\"convId\":\"" + conv + "\",\"clientMsgId\":\"tk-1\",\"body\":\"hi\"}");
      assertEquals(1, ann.await("ack", Duration.ofSeconds(15)).get("seq").asLong());
    }
    ItSupport.eventually(Duration.ofSeconds(20), () -> {
      var page = api.get("/v1/conversations/" + conv + "/messages", api.token("tk-bob"));
      assertEquals(200, page.status(), page.toString());
      assertEquals(1, page.json().get("messages").size(), page.toString());
      assertEquals("tk-ann", page.json().get("messages").get(0).get("sender").asText(), "sent as the ticket's user");
      return null;
    });
    var reused = new WsClient(it.clients, it.node.httpPort(), "/v1/chat/ws?ticket=" + ticket, null);
    assertEquals(401, reused.upgradeStatus, "a ticket is single-use");
    reused.close();
  }

  @Test
  void theTimelineStreamTakesATicketAndForgedOrMissingOnesAre401() throws Exception {
    var base = "http://127.0.0.1:" + it.node.httpPort() + "/v1/timeline/stream";
    var open = http.send(HttpRequest.newBuilder(URI.create(base + "?ticket=" + ticket("tk-cy"))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, open.statusCode());
    assertTrue(open.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
    open.body().close();

    var forged = http.send(HttpRequest.newBuilder(URI.create(base + "?ticket=" + "A".repeat(43))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, forged.statusCode());
    assertTrue(forged.body().contains("unknown or expired stream ticket"), forged.body());
    var malformed = http.send(HttpRequest.newBuilder(URI.create(base + "?ticket=not-a-ticket")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, malformed.statusCode());
    assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    // A ticket is no token for anything else.
    var plain = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + it.node.httpPort()
        + "/v1/timeline/home?ticket=" + ticket("tk-cy"))).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, plain.statusCode());
  }

  @Test
  void theAccessLogNeverPrintsATicketOrAToken() throws Exception {
    var accessLog = (Logger) LoggerFactory.getLogger("plaza.access");
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    // The tests' logback config keeps the access log quiet: turn it on, into this appender only.
    var level = accessLog.getLevel();
    accessLog.setLevel(ch.qos.logback.classic.Level.INFO);
    accessLog.setAdditive(false);
    accessLog.addAppender(appender);
    try {
      var token = api.token("tk-dee");
      var ticket = ticket("tk-dee");
      var response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + it.node.httpPort()
          + "/v1/timeline/stream?ticket=" + ticket)).build(), HttpResponse.BodyHandlers.ofInputStream());
      response.body().close();
      ItSupport.eventually(Duration.ofSeconds(10), () -> {
        assertTrue(appender.list.stream().anyMatch(e -> e.getFormattedMessage().contains("/v1/timeline/stream")),
            "the stream request was logged");
        return null;
      });
      for (var event : appender.list) {
        var line = event.getFormattedMessage() + " " + event.getKeyValuePairs();
        assertFalse(line.contains(ticket), line);
        assertFalse(line.contains(token), line);
      }
    } finally {
      accessLog.detachAppender(appender);
      accessLog.setAdditive(true);
      accessLog.setLevel(level);
    }
  }

  @Test
  void theConsoleIsServedByTheNodeAndFetchesNothingFromElsewhere() throws Exception {
    var base = "http://127.0.0.1:" + it.node.httpPort();
    var page = http.send(HttpRequest.newBuilder(URI.create(base + "/console")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Type").orElseThrow().startsWith("text/html"));
    assertTrue(page.headers().firstValue("Content-Security-Policy").orElseThrow().startsWith("default-src 'self'"));
    var referenced = java.util.regex.Pattern.compile("(?:src|href)=\"([^\"]+)\"").matcher(page.body()).results()
        .map(m -> m.group(1)).filter(ref -> !ref.startsWith("data:")).toList(); // inline: fetches nothing
    assertEquals(java.util.List.of("/console/console.css", "/console/console.js"), referenced.stream().sorted()
        .toList());
    for (var file : referenced) {
      var served = http.send(HttpRequest.newBuilder(URI.create(base + file)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, served.statusCode(), file);
      assertTrue(served.headers().firstValue("Content-Type").orElseThrow()
          .startsWith(file.endsWith(".js") ? "application/javascript" : "text/css"), file + " " + served.headers());
      assertFalse(served.body().matches("(?s).*(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}/.*"), file + " links outside");
    }
    assertEquals(404, http.send(HttpRequest.newBuilder(URI.create(base + "/console/..%2Fapplication.conf")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(404, http.send(HttpRequest.newBuilder(URI.create(base + "/console/missing.js")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
  }
}
