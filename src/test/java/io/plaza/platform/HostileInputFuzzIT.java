package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.slf4j.LoggerFactory;

/**
 * Fuzzing on a real node (Cassandra, Kafka): every operation of the OpenAPI document gets malformed and hostile
 * requests (bad JSON, wrong types, null/empty/huge values, lone surrogates and control characters, overflowing
 * numbers, unknown and foreign ids, missing and wrong headers and content types), and every socket gets hostile frames.
 * Seeded, so a run is reproducible: each try is built from one long that jqwik draws from the fixed seed and that the
 * failure report prints. Asserts: never a 5xx; every error a problem+json (an error frame on a socket); no socket
 * closed for a bad frame; another client's socket unaffected; no entity failing to persist; the ledger checker still
 * passing afterwards.
 */
class HostileInputFuzzIT {

  static final int REQUESTS = 2_200;
  static final int FRAMES = 600;
  private static final String SEED = "20261206";
  private static final Duration WAIT = Duration.ofSeconds(20);
  /** A well-formed id nobody has: fixed, so that a seed replays the same requests. */
  private static final String UNKNOWN = "00000000-0000-4000-8000-000000000000";

  private static NodeUnderTest it;
  private static ApiClient api;
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private static final AtomicInteger requestsSent = new AtomicInteger();
  private static final AtomicInteger framesSent = new AtomicInteger();

  private static String owner;
  private static String other;
  private static List<Operation> operations;
  /** Real ids by the path template's prefix and parameter: the caller's own, someone else's. */
  private static Map<String, List<String>> ids;
  private static String ownerConversation;
  private static String foreignConversation;
  private static WsClient chat;
  private static WsClient driver;
  private static WsClient rider;
  private static WsClient bystander;
  private static String bystanderConversation;

  record Operation(String method, String template, List<String> fields, boolean streaming) {}

  @BeforeContainer
  static void start() throws Exception {
    logs.start();
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    it = NodeUnderTest.start("fuzz-clients");
    api = it.api;
    owner = api.token("fz-owner");
    other = api.token("fz-other");
    operations = operations();

    var ownerAccount = account(owner, 1_000_000);
    var otherAccount = account(other, 1_000);
    var held = api.post("/v1/transfers", owner, """
        {"from":"%s","to":"%s","amount":5,"currency":"EUR","pending":true}""".formatted(ownerAccount, otherAccount),
        Map.of("Idempotency-Key", "fz-held"));
    assertEquals(201, held.status(), held.toString());
    var paid = api.post("/v1/transfers", other, """
        {"from":"%s","to":"%s","amount":5,"currency":"EUR"}""".formatted(otherAccount, ownerAccount),
        Map.of("Idempotency-Key", "fz-paid"));
    assertEquals(201, paid.status(), paid.toString());
    ownerConversation = conversation(owner, "fz-other");
    foreignConversation = conversation(other, "fz-third");
    bystanderConversation = conversation(api.token("fz-by"), "fz-by2");
    assertEquals(201, api.post("/v1/posts", owner, "{\"text\":\"mine\"}", Map.of()).status());
    assertEquals(201, api.post("/v1/posts", other, "{\"text\":\"theirs\"}", Map.of()).status());
    var ride = api.post("/v1/rides", owner, "{\"pickup\":{\"lat\":52.52,\"lng\":13.40},"
        + "\"dropoff\":{\"lat\":52.50,\"lng\":13.42},\"vehicleType\":\"car\"}", Map.of());
    assertEquals(201, ride.status(), ride.toString());
    ids = Map.of(
        "/v1/accounts", List.of(ownerAccount, otherAccount),
        "/v1/transfers", List.of(held.json().get("transferId").asText(), paid.json().get("transferId").asText()),
        "/v1/transfer-batches", List.of(UNKNOWN),
        "/v1/conversations", List.of(ownerConversation, foreignConversation),
        "/v1/posts", List.of("fz-owner:1", "fz-other:1", "fz-owner:999"),
        "/v1/rides", List.of(ride.json().get("rideId").asText(), UNKNOWN),
        "user", List.of("fz-owner", "fz-other", "fz-nobody"));

    chat = socket("/v1/chat/ws", owner);
    driver = socket("/v1/dispatch/driver/ws", owner);
    rider = socket("/v1/dispatch/rider/ws", owner);
    bystander = socket("/v1/chat/ws", api.token("fz-by"));
  }

  @AfterContainer
  static void stop() {
    try {
      assertTrue(requestsSent.get() >= 2_000, "requests sent: " + requestsSent);
      assertTrue(framesSent.get() >= 500, "frames sent: " + framesSent);
      // Another client's socket saw none of it and still works.
      var message = api.post("/v1/conversations/" + bystanderConversation + "/messages", api.token("fz-by2"),
          "{\"clientMsgId\":\"after-fuzz\",\"body\":\"still there?\"}", Map.of());
      assertEquals(201, message.status(), message.toString());
      var pushed = bystander.await("message", WAIT);
      assertEquals("still there?", pushed.get("body").asText());
      assertTrue(bystander.drain(Duration.ZERO).stream().noneMatch(f -> "error".equals(f.path("type").asText())));
      var failures = logs.list.stream().map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.contains("Failed to persist") || m.contains("unhandled error in a route")).toList();
      assertEquals(List.of(), failures, "no entity may fail to persist, no route may fail");
      var check = api.get("/v1/admin/ledger/check?settle=10", api.token("admin"));
      assertEquals(200, check.status(), check.toString());
      assertTrue(check.json().get("passed").asBoolean(), check.toString());
    } finally {
      for (var socket : new WsClient[] {chat, driver, rider, bystander}) {
        if (socket != null) socket.close();
      }
      if (it != null) it.close();
      ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
          .detachAppender(logs);
    }
  }

  // ---- REST -------------------------------------------------------------------------------------------------

  @Property(tries = REQUESTS, seed = SEED, shrinking = ShrinkingMode.OFF, generation = GenerationMode.RANDOMIZED)
  void everyOperationAnswersHostileRequestsWithoutA5xxAndEveryErrorIsAProblem(@ForAll("seeds") long seed)
      throws Exception {
    var request = hostileRequest(new Random(seed));
    requestsSent.incrementAndGet();
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new AssertionError("no answer to " + describe(request), e);
    }
    int status = response.statusCode();
    assertTrue(status < 500, status + " for " + describe(request) + ": " + response.body());
    if (status >= 400) {
      assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElse(""),
          status + " for " + describe(request) + ": " + response.body());
      var problem = Json.MAPPER.readTree(response.body());
      assertEquals(status, problem.get("status").asInt(), response.body());
      assertTrue(!problem.path("detail").asText().isBlank(), response.body());
    }
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }

  private static String describe(HttpRequest.Builder builder) {
    var request = builder.build();
    return request.method() + " " + request.uri() + " " + request.headers().map().keySet();
  }

  /** One request against one operation, with hostile parts chosen by {@code random}. */
  private static HttpRequest.Builder hostileRequest(Random random) {
    var operation = pick(random, operations);
    var method = random.nextInt(10) == 0 ? pick(random, List.of("GET", "POST", "PUT", "DELETE", "PATCH"))
        : operation.method();
    var path = new StringBuilder(pathFor(operation.template(), random));
    if (random.nextInt(3) == 0) path.append('?').append(pick(random, QUERIES));
    var builder = HttpRequest.newBuilder(URI.create(api.base() + path)).timeout(WAIT);
    var auth = random.nextInt(100);
    // A stream answers for ever: it is fuzzed with everything but a request that would open one.
    boolean opensStream = operation.streaming() && method.equals("GET");
    if (auth < 75 && !opensStream) {
      builder.header("Authorization", "Bearer " + owner);
    } else if (auth < 83 && !opensStream) {
      builder.header("Authorization", "Bearer " + other);
    } else if (auth < 91) {
      builder.header("Authorization", pick(random, List.of("Bearer x.y.z", "Bearer ", "Basic YTpi", "bearer",
          "Bearer " + "a".repeat(5_000))));
    }
    boolean withBody = !method.equals("GET") && !method.equals("DELETE") || random.nextInt(10) == 0;
    var body = withBody ? body(operation, random) : null;
    if (body != null) {
      int type = random.nextInt(20);
      if (type < 17) builder.header("Content-Type", "application/json");
      else if (type == 17) builder.header("Content-Type", "text/plain");
      else if (type == 18) builder.header("Content-Type", "application/json; charset=utf-16");
    }
    int key = random.nextInt(10);
    if (key < 7) builder.header("Idempotency-Key", "fz-" + random.nextInt(50));
    else if (key == 7) builder.header("Idempotency-Key", "k".repeat(200));
    else if (key == 8) builder.header("Idempotency-Key", "with space");
    if (random.nextInt(20) == 0) builder.header("X-Request-Id", "../" + "r".repeat(300));
    return builder.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body));
  }

  private static String pathFor(String template, Random random) {
    var path = template;
    var prefix = template.substring(0, template.indexOf('/', 4) < 0 ? template.length() : template.indexOf('/', 4));
    var matcher = java.util.regex.Pattern.compile("\\{([A-Za-z]+)}").matcher(template);
    while (matcher.find()) {
      var name = matcher.group(1);
      boolean userParam = name.equals("user") || name.equals("target") || prefix.equals("/v1/users")
          || prefix.equals("/v1/drivers") || prefix.equals("/v1/riders");
      var real = ids.getOrDefault(userParam ? "user" : prefix, List.of());
      var value = random.nextInt(3) > 0 && !real.isEmpty() ? pick(random, real) : pick(random, SEGMENTS);
      path = path.replace("{" + name + "}", value);
    }
    return path;
  }

  /** A body: a broken or non-object document, or an object of the operation's fields with hostile values. */
  private static String body(Operation operation, Random random) {
    if (random.nextInt(10) < 3) return pick(random, DOCUMENTS);
    var fields = new ArrayList<String>();
    for (var field : operation.fields()) {
      if (random.nextInt(10) < 7) fields.add(Json.write(field) + ":" + value(field, random, 0));
    }
    if (random.nextInt(10) == 0) fields.add(pick(random, List.of("\"extra\":1", "\"\\ud800\":1", "\"\":null")));
    java.util.Collections.shuffle(fields, random);
    return "{" + String.join(",", fields) + "}";
  }

  /** A JSON value for {@code field}: half the time plausible (so deeper checks run), half the time hostile. */
  private static String value(String field, Random random, int depth) {
    if (random.nextBoolean()) return pick(random, VALUES);
    return switch (field) {
      case "amount", "overdraftLimit", "timeoutSeconds", "ttlSeconds", "seq", "afterSeq" ->
          String.valueOf(random.nextInt(2_000) - 100);
      case "currency" -> pick(random, List.of("\"EUR\"", "\"USD\"", "\"eur\"", "\"XXX\""));
      case "from", "to" -> Json.write(pick(random, ids.get("/v1/accounts")));
      case "pending" -> String.valueOf(random.nextBoolean());
      case "kind" -> pick(random, List.of("\"group\"", "\"direct\"", "\"channel\""));
      case "with", "userId" -> Json.write(pick(random, ids.get("user")));
      case "members", "users" -> "[" + Json.write(pick(random, ids.get("user"))) + "]";
      case "pickup", "dropoff" -> depth > 1 ? "{}" : "{\"lat\":" + value("lat", random, depth + 1) + ",\"lng\":"
          + value("lng", random, depth + 1) + "}";
      case "lat", "lng" -> String.valueOf(random.nextDouble() * 200 - 100);
      case "vehicleType" -> pick(random, List.of("\"car\"", "\"bike\"", "\"spaceship\""));
      case "legs" -> depth > 1 ? "[]" : "[{\"from\":" + value("from", random, depth + 1) + ",\"to\":"
          + value("to", random, depth + 1) + ",\"amount\":" + value("amount", random, depth + 1)
          + ",\"currency\":\"EUR\",\"reference\":" + value("reference", random, depth + 1) + "}]";
      default -> Json.write("fz " + random.nextInt(1_000));
    };
  }

  // ---- WebSocket frames --------------------------------------------------------------------------------------

  @Property(tries = FRAMES, seed = SEED, shrinking = ShrinkingMode.OFF, generation = GenerationMode.RANDOMIZED)
  void everyHostileFrameGetsAnAnswerAndTheSocketStaysOpen(@ForAll("seeds") long seed) {
    var random = new Random(seed);
    int socket = random.nextInt(10);
    var frame = socket < 5 ? chatFrame(random) : driverFrame(random);
    var client = socket < 5 ? chat : socket < 9 ? driver : rider;
    client.send(frame);
    framesSent.incrementAndGet();
    // A probe behind it must be answered: the socket is open and went past the hostile frame.
    var marker = "fz-probe-" + Long.toHexString(seed);
    client.send("{\"type\":\"" + marker + "\"" + (client == chat ? ",\"convId\":\"" + ownerConversation + "\"" : "")
        + "}");
    if (client == rider) {
      // The rider socket answers every incoming frame with the same error: one for the frame, one for the probe.
      client.await(f -> "error".equals(f.path("type").asText()), WAIT);
      client.await(f -> "error".equals(f.path("type").asText()), WAIT);
    } else {
      client.await(f -> f.path("detail").asText().contains(marker), WAIT);
    }
    for (var received : client.drain(Duration.ZERO)) {
      var code = received.path("code").asText("");
      assertTrue(!code.equals("internal-error"), "error frame " + received + " after " + frame);
    }
  }

  private static String chatFrame(Random random) {
    if (random.nextInt(4) == 0) return pick(random, DOCUMENTS);
    var type = pick(random, List.of("send", "delivered", "read", "edit", "delete", "typing", "sync", "shout", ""));
    var fields = new ArrayList<String>(List.of("\"type\":" + (random.nextInt(8) == 0 ? pick(random, VALUES)
        : Json.write(type))));
    fields.add("\"convId\":" + (random.nextInt(4) == 0 ? pick(random, VALUES)
        : Json.write(pick(random, List.of(ownerConversation, foreignConversation, UNKNOWN)))));
    for (var field : List.of("seq", "clientMsgId", "body", "afterSeq")) {
      if (random.nextBoolean()) fields.add(Json.write(field) + ":" + value(field, random, 0));
    }
    if (random.nextInt(10) == 0) fields.add("\"sender\":\"someone-else\"");
    return "{" + String.join(",", fields) + "}";
  }

  private static String driverFrame(Random random) {
    if (random.nextInt(4) == 0) return pick(random, DOCUMENTS);
    var type = pick(random, List.of("online", "offline", "ping", "ping", "accept", "decline", "arrived", "started",
        "completed", "cancel", "teleport"));
    var fields = new ArrayList<String>(List.of("\"type\":" + Json.write(type)));
    for (var field : List.of("rideId", "vehicleType", "lat", "lng", "heading", "speed", "at")) {
      if (random.nextInt(3) > 0) {
        var value = switch (field) {
          case "rideId" -> random.nextBoolean() ? Json.write(pick(random, ids.get("/v1/rides")))
              : pick(random, VALUES);
          case "heading", "speed" -> random.nextBoolean() ? String.valueOf(random.nextInt(400)) : pick(random, VALUES);
          case "at" -> random.nextBoolean() ? "\"" + java.time.Instant.now() + "\"" : pick(random, VALUES);
          default -> value(field, random, 0);
        };
        fields.add(Json.write(field) + ":" + value);
      }
    }
    return "{" + String.join(",", fields) + "}";
  }

  // ---- fixtures ---------------------------------------------------------------------------------------------

  /** Every operation of the OpenAPI document, with the top-level fields of its JSON body. */
  private static List<Operation> operations() throws Exception {
    var doc = new ObjectMapper(new YAMLFactory()).readTree(api.get("/v1/openapi.yaml", null).raw().body());
    var all = new ArrayList<Operation>();
    for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields(); paths.hasNext(); ) {
      var path = paths.next();
      if (path.getKey().equals("/v1/openapi.yaml")) continue;
      for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
        var op = ops.next();
        if (!List.of("get", "post", "put", "delete", "patch").contains(op.getKey())) continue;
        var body = resolve(doc, op.getValue().path("requestBody"));
        var schema = resolve(doc, resolve(doc, body.path("content").path("application/json")).path("schema"));
        var fields = new ArrayList<String>();
        schema.path("properties").fieldNames().forEachRemaining(fields::add);
        boolean streaming = path.getKey().endsWith("/ws") || path.getKey().endsWith("/stream");
        all.add(new Operation(op.getKey().toUpperCase(), path.getKey(), fields, streaming));
      }
    }
    assertTrue(all.size() > 40, "operations read from openapi.yaml: " + all.size());
    return all;
  }

  private static JsonNode resolve(JsonNode doc, JsonNode node) {
    var ref = node.path("$ref").asText("");
    if (ref.isEmpty()) return node;
    var target = doc;
    for (var part : ref.substring(2).split("/")) target = target.path(part);
    return resolve(doc, target);
  }

  private static String account(String token, long deposit) {
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"EUR\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var id = opened.json().get("accountId").asText();
    assertEquals(201, api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + deposit + "}",
        Map.of("Idempotency-Key", "fz-seed-" + id)).status());
    return id;
  }

  private static String conversation(String token, String with) {
    var created = api.post("/v1/conversations", token, "{\"kind\":\"group\",\"members\":[\"" + with + "\"]}",
        Map.of());
    assertEquals(201, created.status(), created.toString());
    return created.json().get("conversationId").asText();
  }

  private static WsClient socket(String path, String token) {
    return it.socket(path, token);
  }

  private static <T> T pick(Random random, List<T> from) {
    return from.get(random.nextInt(from.size()));
  }

  /** Path segments that are not ids, percent-encoded where a URI needs it. */
  private static final List<String> SEGMENTS = List.of("%20", "..", "%2e%2e", "%00", "%ED%A0%80", "%FF", "a:b",
      "x".repeat(300), "null", "-1", "9223372036854775808", "%F0%9F%99%82", "*", "a;b", "a%2Fb", "fz-owner:0",
      "fz-owner:-1", ":", "%0A", UNKNOWN);

  private static final List<String> QUERIES = List.of("limit=-1", "limit=abc", "limit=0", "limit=201",
      "limit=99999999999999999999", "cursor=%ED%A0%80", "cursor=" + "c".repeat(500), "cursor=a:b", "before=-5",
      "before=abc", "settle=abc", "settle=-1", "lat=1e999&lng=0", "lat=abc&lng=1", "lat=91&lng=0", "lat=10",
      "lat=10&lng=10&lat=11", "=1", "limit=%00");

  /** Documents that are not a request object. */
  private static final List<String> DOCUMENTS = List.of("", " ", "null", "[]", "[{}]", "1", "-0", "\"text\"",
      "true", "{", "{\"a\":", "{}}", "{\"a\":1,}", "\u0000", "{\"type\":\"send\"", "[".repeat(5_000),
      "{\"a\":" + "1".repeat(2_000) + "}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\u", "NaN", "{\"a\":NaN}",
      "{\"a\":Infinity}", "\uFEFF{}", "{'a':1}", "{\"type\":\"" + "t".repeat(20_000) + "\"}");

  /** Values of the wrong type, out of range, or that cannot be stored. */
  private static final List<String> VALUES = List.of("null", "true", "false", "0", "-1", "1.5", "-0.0", "1e999",
      "-1e999", "1e308", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "\"\"", "\" \"",
      "\"\\ud800\"", "\"a\\udc00b\"", "\"\\u0000\"", "\"\\u0007\"", "\"\\u001b[0m\"", "\"" + "x".repeat(300) + "\"",
      "\"" + "x".repeat(20_000) + "\"", "\"🙂\"", "\"\\\"\"", "\"../../etc/passwd\"", "\"' OR 1=1 --\"", "[]",
      "[null]", "{}", "{\"$ref\":\"x\"}", "[\"\\ud800\"]", "[1,2,3]", "{\"lat\":1e999,\"lng\":\"x\"}", "\"10\"",
      "\"EUR\"", "\"fz-other\"", "\"" + UNKNOWN + "\"");
}
