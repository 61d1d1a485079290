package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The HTTP front door over a real server socket: per-user rate limit (429) and authentication before handlers. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpApiTest {

  private static final int BURST = 3;

  private final AtomicInteger handled = new AtomicInteger();
  /** Stream tickets the in-memory redeemer knows, by ticket: each redeems once. */
  private final java.util.Map<String, String> tickets = new java.util.concurrent.ConcurrentHashMap<>();
  private final JwtAuth auth = new JwtAuth("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8),
      "plaza-test", Duration.ofSeconds(5));
  private final HttpClient client = HttpClient.newHttpClient();
  private ActorSystem<Void> system;
  private ServerBinding binding;

  @BeforeAll
  void bind() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "http-api-test",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
    var ping = Endpoint.get("/v1/ping", call -> {
      handled.incrementAndGet();
      return Directives.complete(StatusCodes.OK, "pong " + call.userId());
    });
    var stream = Endpoint.stream("/v1/stream", call -> Directives.complete(StatusCodes.OK, "streaming " + call.userId()));
    var post = Endpoint.post("/v1/things", call -> Directives.complete(StatusCodes.CREATED, "made"));
    var thing = Endpoint.get("/v1/things/{id}",
        call -> Directives.complete(StatusCodes.OK, "thing " + call.param("id")));
    var page = Endpoint.open(org.apache.pekko.http.javadsl.model.HttpMethods.GET, "/{page}",
        call -> Directives.complete(StatusCodes.OK, "page " + call.param("page")));
    HttpApi.TicketRedeemer redeemer = ticket -> {
      var user = tickets.remove(ticket);
      return java.util.concurrent.CompletableFuture.completedFuture(user != null ? new JwtAuth.Authenticated(user)
          : new JwtAuth.Refused("unknown or expired stream ticket"));
    };
    var browsers = new BrowserAccess(List.of("http://app.example:3000"),
        org.apache.pekko.http.cors.javadsl.settings.CorsSettings.create(system.settings().config()));
    var api = new HttpApi(List.of(ping, stream, post, thing, page), auth, redeemer, browsers, new RateLimiter(1, BURST),
        Metrics.get(system));
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(api.route()).toCompletableFuture().get();
  }

  @AfterAll
  void unbind() {
    system.terminate();
  }

  private HttpResponse<String> ping(String user) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
        + "/v1/ping"));
    if (user != null) request.header("Authorization", "Bearer " + auth.mint(user, Duration.ofMinutes(1)));
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aUserOverTheLimitGets429WithRetryAfterAndOthersAreServed() throws Exception {
    for (int i = 0; i < BURST; i++) assertEquals(200, ping("carol").statusCode());
    // The bucket refills one token per second, so a slow machine may earn one more 200 before the 429.
    int before = handled.get();
    var limited = ping("carol");
    for (int extra = 0; extra < 3 && limited.statusCode() == 200; extra++) {
      before = handled.get();
      limited = ping("carol");
    }
    assertEquals(429, limited.statusCode(), limited.body());
    assertEquals("application/problem+json", limited.headers().firstValue("Content-Type").orElseThrow());
    long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter >= 1, "Retry-After " + retryAfter);
    var problem = Json.MAPPER.readTree(limited.body());
    assertEquals(429, problem.get("status").asInt());
    assertTrue(problem.get("detail").asText().contains("rate limit exceeded for user carol"), limited.body());
    assertEquals(before, handled.get(), "a limited request must not reach the handler");

    var other = ping("dave");
    assertEquals(200, other.statusCode());
    assertEquals("pong dave", other.body());
  }

  @Test
  void anUnauthenticatedRequestNeverReachesTheHandlerNorSpendsAnyonesBudget() throws Exception {
    int before = handled.get();
    var anonymous = ping(null);
    assertEquals(401, anonymous.statusCode());
    assertEquals("Bearer realm=\"plaza\"", anonymous.headers().firstValue("WWW-Authenticate").orElseThrow());
    assertEquals(before, handled.get());
  }

  private double responses(String route, String status) {
    var counter = Metrics.get(system).registry().find("plaza.http.responses")
        .tags("method", "GET", "route", route, "status", status).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void everyResponseIsCountedByMethodRouteTemplateAndStatusAndTimed() throws Exception {
    double ok = responses("/v1/ping", "200");
    double unauthorized = responses("/v1/ping", "401");
    double notFound = responses("unmatched", "404");
    assertEquals(200, ping("erin").statusCode());
    assertEquals(401, ping(null).statusCode());
    assertEquals(401, ping(null).statusCode());
    var unknown = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
        + "/v1/nothing-here")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, unknown.statusCode());

    assertEquals(ok + 1, responses("/v1/ping", "200"));
    assertEquals(unauthorized + 2, responses("/v1/ping", "401"));
    assertEquals(notFound + 1, responses("unmatched", "404"));
    var scrape = Metrics.get(system).scrape();
    assertTrue(scrape.contains("plaza_http_responses_total{method=\"GET\",route=\"/v1/ping\",status=\"401\"}"),
        scrape);
    assertTrue(scrape.contains(
        "plaza_http_request_seconds_bucket{method=\"GET\",route=\"/v1/ping\",status=\"200\",le="),
        scrape);
  }

  private HttpResponse<String> getAs(String user, String path) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path));
    if (user != null) request.header("Authorization", "Bearer " + auth.mint(user, Duration.ofMinutes(1)));
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void requestsReachTheirEndpointThroughThePathPrefixTableAsThroughOneConcat() throws Exception {
    assertEquals("thing 42", getAs("gina", "/v1/things/42").body());
    assertEquals("thing 42", getAs("gina", "/v1/things/42/").body(), "a trailing slash matches, as before");
    assertEquals("page about", getAs(null, "/about").body(), "a parameter in the first segment matches any prefix");
    // The path matches an endpoint of another method only: 405 naming the allowed one, not 404.
    var wrongMethod = getAs("gina", "/v1/things");
    assertEquals(405, wrongMethod.statusCode(), wrongMethod.body());
    assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElseThrow());
    assertEquals(404, getAs("gina", "/v1/things/42/parts").statusCode());
    assertEquals(404, getAs("gina", "/v2/ping").statusCode());
    assertEquals("/v1/accounts", HttpApi.prefixOf("/v1/accounts/42/balance"));
    assertEquals("/v1/accounts", HttpApi.prefixOf("/v1/accounts"));
    assertEquals("/v1/", HttpApi.prefixOf("/v1/"));
    assertEquals("/", HttpApi.prefixOf("/"));
  }

  /** Sends raw bytes and reads the status line and the rest: for requests an HTTP client would refuse to send. */
  private String raw(String request) throws Exception {
    try (var socket = new java.net.Socket("127.0.0.1", binding.localAddress().getPort())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      var in = socket.getInputStream();
      var out = new java.io.ByteArrayOutputStream();
      var buffer = new byte[8192];
      try {
        for (int n; (n = in.read(buffer)) > 0; ) {
          out.write(buffer, 0, n);
          if (out.toString(StandardCharsets.UTF_8).contains("}")) break;
        }
      } catch (java.net.SocketTimeoutException e) {
        // what arrived is the answer
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }

  private static void assertProblemResponse(int status, String response) throws Exception {
    assertTrue(response.startsWith("HTTP/1.1 " + status), response);
    assertTrue(response.contains("Content-Type: application/problem+json"), response);
    var problem = Json.MAPPER.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
    assertEquals(status, problem.get("status").asInt(), response);
    assertTrue(!problem.get("detail").asText().isBlank(), response);
  }

  @Test
  void requestsTooMalformedToReachARouteStillGetAProblem() throws Exception {
    int before = handled.get();
    assertProblemResponse(414, raw("GET /v1/ping?" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    assertProblemResponse(431, raw("GET /v1/ping HTTP/1.1\r\nHost: a\r\nX-Big: " + "y".repeat(40_000)
        + "\r\n\r\n"));
    assertProblemResponse(505, raw("GET /v1/ping HTTP/3.7\r\nHost: a\r\n\r\n"));
    assertProblemResponse(400, raw("GET /v1/ping HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n"));
    assertProblemResponse(400, raw("G\u0001T /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n"));
    assertEquals(before, handled.get());
  }

  private HttpResponse<String> get(String pathAndQuery, String... headers) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
        + pathAndQuery));
    if (headers.length > 0) request.headers(headers);
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aStreamEndpointTakesAStreamTicketOnceAndOtherEndpointsNever() throws Exception {
    tickets.put("t-1", "frank");
    var first = get("/v1/stream?ticket=t-1");
    assertEquals(200, first.statusCode(), first.body());
    assertEquals("streaming frank", first.body(), "the ticket's user");
    var again = get("/v1/stream?ticket=t-1");
    assertEquals(401, again.statusCode());
    assertTrue(again.body().contains("unknown or expired stream ticket"), again.body());
    assertEquals(401, get("/v1/stream").statusCode(), "neither token nor ticket");
    assertTrue(get("/v1/stream").body().contains("stream ticket"), "the problem names both ways");
    tickets.put("t-2", "frank");
    assertEquals(401, get("/v1/ping?ticket=t-2").statusCode(), "a plain endpoint wants the token");
    assertEquals("frank", tickets.get("t-2"), "and does not spend the ticket");
    assertEquals(200, get("/v1/stream", "Authorization", "Bearer " + auth.mint("gina", Duration.ofMinutes(1)))
        .statusCode(), "the bearer token still works on a stream endpoint");
  }

  @Test
  void anAllowedOriginGetsCorsAndAPreflightOthersAreRefusedWithAProblem() throws Exception {
    var token = "Bearer " + auth.mint("hugo", Duration.ofMinutes(1));
    var preflight = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + binding.localAddress().getPort() + "/v1/things"))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", "http://app.example:3000").header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type, idempotency-key").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, preflight.statusCode(), preflight.body());
    assertEquals("http://app.example:3000", preflight.headers().firstValue("Access-Control-Allow-Origin")
        .orElseThrow());
    assertTrue(preflight.headers().firstValue("Access-Control-Allow-Methods").orElseThrow().contains("POST"));
    assertTrue(preflight.headers().firstValue("Access-Control-Allow-Headers").orElseThrow().toLowerCase()
        .contains("idempotency-key"));

    var allowed = get("/v1/ping", "Origin", "http://app.example:3000", "Authorization", token);
    assertEquals(200, allowed.statusCode());
    assertEquals("http://app.example:3000", allowed.headers().firstValue("Access-Control-Allow-Origin")
        .orElseThrow());
    assertTrue(allowed.headers().firstValue("Access-Control-Expose-Headers").orElseThrow().contains("Location"));

    int before = handled.get();
    var foreign = get("/v1/ping", "Origin", "http://evil.example", "Authorization", token);
    assertEquals(403, foreign.statusCode(), foreign.body());
    assertEquals("application/problem+json", foreign.headers().firstValue("Content-Type").orElseThrow());
    assertTrue(foreign.body().contains("cross-origin request refused"), foreign.body());
    assertEquals(before, handled.get(), "a refused origin never reaches the handler");

    // A page of the node's own origin needs no CORS (browsers send Origin on a same-origin POST too).
    var own = "http://127.0.0.1:" + binding.localAddress().getPort();
    var sameOrigin = client.send(HttpRequest.newBuilder(URI.create(own + "/v1/things"))
        .POST(HttpRequest.BodyPublishers.noBody()).header("Origin", own).header("Authorization", token).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(201, sameOrigin.statusCode(), sameOrigin.body());
  }

  @Test
  void aWebSocketUpgradeFromAnOriginNotAllowedIsRefused() throws Exception {
    tickets.put("t-ws", "ivan");
    var upgrade = "GET /v1/stream?ticket=t-ws HTTP/1.1\r\nHost: 127.0.0.1:" + binding.localAddress().getPort()
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n";
    var hijack = raw(String.format(upgrade, "http://evil.example"));
    assertProblemResponse(403, hijack);
    assertTrue(hijack.contains("WebSocket connections from origin http://evil.example are not allowed"), hijack);
    assertEquals("ivan", tickets.get("t-ws"), "refused before the ticket was spent");
    var opaque = raw(String.format(upgrade, "null"));
    assertProblemResponse(403, opaque);
    assertTrue(opaque.contains("from origin null"), "a sandboxed page's opaque origin is no allowed one: " + opaque);
    assertEquals(403, get("/v1/ping", "Origin", "null", "Authorization", "Bearer " + auth.mint("ivan",
        Duration.ofMinutes(1))).statusCode());
    // From the allowed origin the request reaches the endpoint (which here answers plainly, not as a WebSocket).
    var allowed = raw(String.format(upgrade, "http://app.example:3000"));
    assertTrue(allowed.startsWith("HTTP/1.1 200"), allowed);
    // And from a page of the node itself (the console), which browsers send as the Origin of its WebSockets.
    tickets.put("t-ws", "ivan");
    var own = raw(String.format(upgrade, "http://127.0.0.1:" + binding.localAddress().getPort()));
    assertTrue(own.startsWith("HTTP/1.1 200"), own);
  }
}
