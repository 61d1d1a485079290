package io.plaza.platform;

import static io.plaza.platform.ItSupport.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Input that is valid JSON but not a request, or text that could not be stored, on a real node: refused at the edge
 * with 400 (an error frame on a socket, which stays open), and never reaching an entity, so the same Idempotency-Key
 * stays free for the corrected request.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputIT {

  private static final String LONE_SURROGATE = "\\ud800abc";

  private NodeUnderTest it;
  private PlazaNode node;
  private ApiClient api;

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("hostile-clients");
    node = it.node;
    api = it.api;
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  private String account(String token, long deposit) {
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"EUR\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var id = opened.json().get("accountId").asText();
    if (deposit > 0) {
      assertEquals(201, api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + deposit + "}",
          Map.of("Idempotency-Key", "seed-" + id)).status());
    }
    return id;
  }

  private String conversation(String token, String with) {
    var created = api.post("/v1/conversations", token, "{\"kind\":\"group\",\"members\":[\"" + with + "\"]}",
        Map.of());
    assertEquals(201, created.status(), created.toString());
    return created.json().get("conversationId").asText();
  }

  @Test
  void everyJsonPostEndpointAnswersABodyThatIsNotAnObjectWith400() {
    var hana = api.token("hana");
    var from = account(hana, 1_000);
    var to = account(api.token("ivo"), 0);
    var pending = api.post("/v1/transfers", hana, """
        {"from":"%s","to":"%s","amount":10,"currency":"EUR","pending":true}""".formatted(from, to),
        Map.of("Idempotency-Key", "hold-" + UUID.randomUUID()));
    assertEquals(201, pending.status(), pending.toString());
    var conv = conversation(hana, "ivo");
    var endpoints = new LinkedHashMap<String, String>();
    endpoints.put("/v1/accounts", hana);
    endpoints.put("/v1/accounts/" + from + "/deposits", hana);
    endpoints.put("/v1/accounts/" + from + "/withdrawals", hana);
    endpoints.put("/v1/transfers", hana);
    endpoints.put("/v1/transfers/" + pending.json().get("transferId").asText() + "/post", hana);
    endpoints.put("/v1/transfer-batches", hana);
    endpoints.put("/v1/conversations", hana);
    endpoints.put("/v1/conversations/" + conv + "/members", hana);
    endpoints.put("/v1/conversations/" + conv + "/messages", hana);
    endpoints.put("/v1/posts", hana);
    endpoints.put("/v1/rides", hana);
    endpoints.put("/v1/dev/tokens", null);
    for (var endpoint : endpoints.entrySet()) {
      for (var body : List.of("null", "[]", "[{}]", "1", "\"text\"", "true", " null ")) {
        var response = api.post(endpoint.getKey(), endpoint.getValue(), body,
            Map.of("Idempotency-Key", "k-" + UUID.randomUUID()));
        assertProblem(400, response, "JSON object");
      }
    }
  }

  @Test
  void unstorableTextIsRefusedAndTheIdempotencyKeyStaysFree() {
    var jan = api.token("jan");
    var from = account(jan, 1_000);
    var to = account(api.token("kim"), 0);
    var key = Map.of("Idempotency-Key", "poison-" + UUID.randomUUID());
    var transfer = """
        {"from":"%s","to":"%s","amount":25,"currency":"EUR","reference":"%s"}""";
    assertProblem(400, api.post("/v1/transfers", jan, transfer.formatted(from, to, LONE_SURROGATE), key),
        "field 'reference' contains a lone UTF-16 surrogate");
    assertProblem(400, api.post("/v1/transfers", jan, transfer.formatted(from, to, "bell\\u0007"), key),
        "control character U+0007");
    var ok = api.post("/v1/transfers", jan, transfer.formatted(from, to, "rent"), key);
    assertEquals(201, ok.status(), "the refused requests must leave the key free: " + ok);

    assertProblem(400, api.post("/v1/transfer-batches", jan, "{\"legs\":[" + """
        {"from":"%s","to":"%s","amount":1,"currency":"EUR","reference":"%s"}""".formatted(from, to, LONE_SURROGATE)
        + "]}", Map.of("Idempotency-Key", "b-" + UUID.randomUUID())), "legs.[0].reference");

    assertProblem(400, api.post("/v1/conversations", jan, "{\"kind\":\"group\",\"title\":\"" + LONE_SURROGATE
        + "\",\"members\":[\"kim\"]}", Map.of()), "field 'title' contains a lone");
    assertProblem(400, api.post("/v1/conversations", jan, "{\"kind\":\"group\",\"members\":[\"kim\",\"\\udfff\"]}",
        Map.of()), "members.[1]");
    var conv = conversation(jan, "kim");
    var message = "{\"clientMsgId\":\"m-1\",\"body\":\"%s\"}";
    assertProblem(400, api.post("/v1/conversations/" + conv + "/messages", jan, message.formatted(LONE_SURROGATE),
        Map.of()), "field 'body' contains a lone");
    var posted = api.post("/v1/conversations/" + conv + "/messages", jan, message.formatted("hi 😀"), Map.of());
    assertEquals(201, posted.status(), posted.toString());
    assertEquals(1, posted.json().get("seq").asLong(), "the refused message took no seq");

    var postKey = Map.of("Idempotency-Key", "post-" + UUID.randomUUID());
    assertProblem(400, api.post("/v1/posts", jan, "{\"text\":\"" + LONE_SURROGATE + "\"}", postKey),
        "field 'text' contains a lone");
    assertProblem(400, api.post("/v1/posts", jan, "{\"text\":\"\\u0000\"}", postKey), "U+0000");
    assertEquals(201, api.post("/v1/posts", jan, "{\"text\":\"fine\"}", postKey).status());

    assertProblem(400, api.post("/v1/rides", jan, "{\"pickup\":{\"lat\":1e999,\"lng\":1},"
        + "\"dropoff\":{\"lat\":1,\"lng\":1},\"vehicleType\":\"car\"}", Map.of()), "finite");
    assertProblem(400, api.post("/v1/rides", jan, "{\"pickup\":{\"lat\":\"10\",\"lng\":1},"
        + "\"dropoff\":{\"lat\":1,\"lng\":1},\"vehicleType\":\"car\"}", Map.of()), "pickup.lat");
    // An unknown field whose name is malformed text is named back without breaking the response.
    assertProblem(400, api.post("/v1/posts", jan, "{\"\\ud800\":1}", Map.of()), "unknown field");
  }

  private WsClient socket(String path, String user) {
    return it.socket(path, api.token(user));
  }

  private static JsonNode error(WsClient socket) {
    return socket.await("error", Duration.ofSeconds(10));
  }

  @Test
  void aChatFrameThatIsNotARequestGetsAnErrorFrameAndTheSocketStaysOpen() {
    var conv = conversation(api.token("lea"), "max");
    try (var lea = socket("/v1/chat/ws", "lea")) {
      for (var frame : List.of("null", "[]", "42", "\"send\"", "true", "")) {
        lea.send(frame);
        var error = error(lea);
        assertEquals("invalid-request", error.get("code").asText(), error.toString());
      }
      lea.send("{\"type\":\"send\",\"convId\":\"" + conv + "\",\"clientMsgId\":\"w-1\",\"body\":\""
          + LONE_SURROGATE + "\"}");
      assertTrue(error(lea).get("detail").asText().contains("lone UTF-16 surrogate"));
      lea.send("{\"type\":\"send\",\"convId\":\"" + conv + "\",\"clientMsgId\":\"w-2\",\"body\":\"hello\"}");
      var ack = lea.await("ack", Duration.ofSeconds(15));
      assertEquals(1, ack.get("seq").asLong(), "the poisoned send took no seq, and the socket still works");
    }
  }

  @Test
  void aDriverFrameWithWrongTypesIsRefusedLikeRestAndTheSocketStaysOpen() {
    try (var driver = socket("/v1/dispatch/driver/ws", "nia")) {
      driver.send("null");
      assertEquals("invalid-request", error(driver).get("code").asText());
      driver.send("{\"type\":\"ping\",\"lat\":\"10\",\"lng\":10,\"heading\":0,\"speed\":0,"
          + "\"at\":\"2026-12-06T00:00:00Z\"}");
      var wrongType = error(driver);
      assertEquals("invalid-request", wrongType.get("code").asText());
      assertTrue(wrongType.get("detail").asText().contains("field 'lat' must be a number"), wrongType.toString());
      driver.send("{\"type\":\"ping\",\"lat\":10,\"lng\":10,\"heading\":1e999,\"speed\":0,"
          + "\"at\":\"2026-12-06T00:00:00Z\"}");
      assertTrue(error(driver).get("detail").asText().contains("finite"));
      driver.send("{\"type\":\"online\",\"vehicleType\":\"car\"}");
      assertEquals("available", driver.await("status", Duration.ofSeconds(15)).get("status").asText());
    }
  }
}
