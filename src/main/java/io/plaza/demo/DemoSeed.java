package io.plaza.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/plaza demo}: seeds a small world through a dev-mode node's public API, so the console is alive on first
 * open — a dozen users with a EUR wallet and money, a few payments between them, direct and group conversations with
 * history, follows and posts. Drivers are not seeded: they need open sockets (the console's Dispatch tab simulates
 * them). Every write carries an Idempotency-Key or client id, so running it again changes nothing.
 */
public final class DemoSeed {

  public static final List<String> USERS = List.of("ana", "ben", "cara", "dan", "eve", "finn", "gus", "hana", "ivo",
      "jade", "kai", "lena");
  static final long DEPOSIT = 100_00;
  static final String GROUP_TITLE = "Weekend trip";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final String base;
  private final Map<String, String> tokens = new HashMap<>();
  private final Map<String, String> accounts = new LinkedHashMap<>();

  public DemoSeed(String base) {
    this.base = base.replaceAll("/+$", "");
  }

  public static void main(String[] args) throws Exception {
    var seed = new DemoSeed(args.length > 0 ? args[0] : "http://localhost:8080");
    seed.run();
    System.out.println("[demo] " + USERS.size() + " users with wallets, conversations, follows and posts; sign in to "
        + "the console as any of " + String.join(", ", USERS));
  }

  /** Seeds everything; returns each user's account id. */
  public Map<String, String> run() throws IOException, InterruptedException {
    for (var user : USERS) {
      tokens.put(user, call("POST", "/v1/dev/tokens", null, Map.of("userId", user), Map.of()).get("token").asText());
    }
    for (var user : USERS) {
      var account = call("POST", "/v1/accounts", user, Map.of("currency", "EUR"), Map.of("Idempotency-Key",
          "demo-account")).get("accountId").asText();
      accounts.put(user, account);
      call("POST", "/v1/accounts/" + account + "/deposits", user, Map.of("amount", DEPOSIT),
          Map.of("Idempotency-Key", "demo-deposit"));
    }
    // Payments around the circle: each user pays the next one.
    for (int i = 0; i < USERS.size(); i++) {
      var from = USERS.get(i);
      var to = USERS.get((i + 1) % USERS.size());
      call("POST", "/v1/transfers", from, Map.of("from", accounts.get(from), "to", accounts.get(to),
          "amount", 5_00 + 100L * i, "currency", "EUR", "reference", "demo: thanks " + to),
          Map.of("Idempotency-Key", "demo-pay-" + to));
    }
    chat("ana", "ben", "Lunch tomorrow?", "Sure, 12:30 at the usual place");
    chat("cara", "dan", "Did you see the match?", "Yes! What a finish");
    chat("eve", "finn", "Sending you the slides now", "Got them, thanks");
    var group = group("ana", List.of("ben", "cara", "eve"));
    message("ana", group, "demo-group-1", "Who is driving on Saturday?");
    message("ben", group, "demo-group-2", "I can take four people");
    message("eve", group, "demo-group-3", "I'll bring snacks");
    // Everyone follows ana and ben; each follows the next user too.
    for (int i = 0; i < USERS.size(); i++) {
      var user = USERS.get(i);
      for (var target : List.of("ana", "ben", USERS.get((i + 1) % USERS.size()))) {
        if (!target.equals(user)) call("PUT", "/v1/users/" + user + "/following/" + target, user, null, Map.of());
      }
    }
    for (var user : USERS) {
      call("POST", "/v1/posts", user, Map.of("text", "Hello from " + user + ", new on Plaza"),
          Map.of("Idempotency-Key", "demo-post-1"));
    }
    return Map.copyOf(accounts);
  }

  private void chat(String a, String b, String first, String reply) throws IOException, InterruptedException {
    var id = call("POST", "/v1/conversations", a, Map.of("kind", "direct", "with", b), Map.of())
        .get("conversationId").asText();
    message(a, id, "demo-" + a + "-1", first);
    message(b, id, "demo-" + b + "-1", reply);
  }

  /** The group of {@code owner} titled {@link #GROUP_TITLE}: found in the owner's list, or created. */
  private String group(String owner, List<String> members) throws IOException, InterruptedException {
    for (var c : call("GET", "/v1/conversations", owner, null, Map.of()).get("conversations")) {
      if (GROUP_TITLE.equals(c.path("title").asText())) return c.get("conversationId").asText();
    }
    return call("POST", "/v1/conversations", owner, Map.of("kind", "group", "members", members, "title", GROUP_TITLE),
        Map.of()).get("conversationId").asText();
  }

  private void message(String sender, String conversation, String clientMsgId, String body)
      throws IOException, InterruptedException {
    call("POST", "/v1/conversations/" + conversation + "/messages", sender, Map.of("clientMsgId", clientMsgId,
        "body", body), Map.of());
  }

  private JsonNode call(String method, String path, String user, Object body, Map<String, String> headers)
      throws IOException, InterruptedException {
    var request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(15))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
    if (body != null) request.header("Content-Type", "application/json");
    if (user != null) request.header("Authorization", "Bearer " + tokens.get(user));
    headers.forEach(request::header);
    var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() >= 300) {
      throw new IOException(method + " " + path + " as " + user + ": " + response.statusCode() + " "
          + response.body());
    }
    return response.body().isEmpty() ? json.createObjectNode() : json.readTree(response.body());
  }
}
