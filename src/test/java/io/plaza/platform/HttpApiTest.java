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
    var api = new HttpApi(List.of(ping), auth, new RateLimiter(1, BURST), Metrics.get(system));
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

  private double responses(String status) {
    var counter = Metrics.get(system).registry().find("plaza.http.responses").tags("method", "GET", "status", status)
        .counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void everyResponseIsCountedByMethodAndStatusAndTimed() throws Exception {
    double ok = responses("200");
    double unauthorized = responses("401");
    double notFound = responses("404");
    assertEquals(200, ping("erin").statusCode());
    assertEquals(401, ping(null).statusCode());
    assertEquals(401, ping(null).statusCode());
    var unknown = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
        + "/v1/nothing-here")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, unknown.statusCode());

    assertEquals(ok + 1, responses("200"));
    assertEquals(unauthorized + 2, responses("401"));
    assertEquals(notFound + 1, responses("404"));
    var scrape = Metrics.get(system).scrape();
    assertTrue(scrape.contains("plaza_http_responses_total{method=\"GET\",status=\"401\"}"), scrape);
    assertTrue(scrape.contains("plaza_http_request_seconds_bucket{method=\"GET\",status=\"200\",le="), scrape);
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
}
