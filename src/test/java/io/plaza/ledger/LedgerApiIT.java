package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static io.plaza.platform.ItSupport.assertProblem;
import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;

import io.plaza.platform.ApiClient;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The account API end to end on one node over the real Cassandra and Kafka. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LedgerApiIT {

  private PlazaNode node;
  private ApiClient api;
  private String alice;
  private String bob;

  @BeforeAll
  void startNode() {
    node = TestNodes.start();
    api = new ApiClient(node.httpPort());
    alice = api.token("alice");
    bob = api.token("bob");
  }

  @AfterAll
  void stopNode() {
    if (node != null) node.close();
  }

  private String openAccount(String token, String currency) {
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"" + currency + "\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    return opened.json().get("accountId").asText();
  }

  private ApiClient.Response deposit(String token, String id, long amount, String key) {
    return api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + amount + "}",
        Map.of("Idempotency-Key", key));
  }

  @Test
  void accountLifeCycleOverHttp() {
    var opened = api.post("/v1/accounts", alice, "{\"currency\":\"EUR\",\"overdraftLimit\":100}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var id = opened.json().get("accountId").asText();
    assertEquals("/v1/accounts/" + id, opened.header("Location"));

    var deposited = deposit(alice, id, 1_000, "dep-1");
    assertEquals(201, deposited.status(), deposited.toString());
    assertEquals(1_000, deposited.json().get("balanceAfter").asLong());

    var retried = deposit(alice, id, 1_000, "dep-1");
    assertEquals(200, retried.status(), retried.toString());
    assertEquals("true", retried.header("Idempotent-Replayed"));
    assertEquals(1_000, retried.json().get("balanceAfter").asLong());

    var withdrawn = api.post("/v1/accounts/" + id + "/withdrawals", alice, "{\"amount\":1050}",
        Map.of("Idempotency-Key", "wd-1"));
    assertEquals(201, withdrawn.status(), withdrawn.toString());
    assertEquals(-50, withdrawn.json().get("balanceAfter").asLong());

    var account = api.get("/v1/accounts/" + id, alice);
    assertEquals(200, account.status());
    assertEquals(-50, account.json().get("balance").asLong());
    assertEquals(3, account.json().get("version").asLong());
    assertEquals("alice", account.json().get("owner").asText());

    // The read model catches up through the projection (eventsByTag lag is about a second).
    var balance = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/accounts/" + id + "/balance", alice);
      assertEquals(200, r.status(), r.toString());
      assertEquals(3, r.json().get("version").asLong(), r.toString());
      return r.json();
    });
    assertEquals(-50, balance.get("balance").asLong());
    assertEquals("EUR", balance.get("currency").asText());
  }

  @Test
  void openingWithTheSameIdempotencyKeyReturnsTheSameAccount() {
    var key = Map.of("Idempotency-Key", "open-" + UUID.randomUUID());
    var first = api.post("/v1/accounts", alice, "{\"currency\":\"USD\"}", key);
    var second = api.post("/v1/accounts", alice, "{\"currency\":\"USD\"}", key);
    assertEquals(201, first.status());
    assertEquals(first.json().get("accountId"), second.json().get("accountId"));
    var conflicting = api.post("/v1/accounts", alice, "{\"currency\":\"GBP\"}", key);
    assertProblem(409, LedgerProblem.ACCOUNT_EXISTS, conflicting, "already exists");
  }

  @Test
  void badInputIsRefusedWithProblemJsonAndChangesNothing() {
    var id = openAccount(alice, "EUR");
    assertEquals(201, deposit(alice, id, 500, "seed").status());
    var path = "/v1/accounts/" + id + "/deposits";
    var withdrawals = "/v1/accounts/" + id + "/withdrawals";
    var key = Map.of("Idempotency-Key", "bad-1");

    assertProblem(400, io.plaza.platform.ProblemCode.Common.INVALID_REQUEST,
        api.post(path, alice, "{\"amount\": 10", key),
        "malformed JSON");
    assertProblem(400, api.post(path, alice, "{\"amount\": \"ten\"}", key), "'amount' must be an integer");
    assertProblem(400, api.post(path, alice, "{\"amount\": 1.5}", key), "'amount' must be an integer");
    assertProblem(400, api.post(path, alice, "{\"amount\": 10, \"to\": \"x\"}", key), "unknown field 'to'");
    assertProblem(400, api.post(path, alice, "{}", key), "amount is required");
    assertProblem(400, api.post(path, alice, "{\"amount\": -10}", key), "positive");
    assertProblem(400, api.post(path, alice, "{\"amount\": 0}", key), "positive");
    assertProblem(400, api.post(path, alice, "{\"amount\": 10}", Map.of()), "Idempotency-Key header is required");
    assertProblem(400, api.post(path, alice, "{\"amount\": 10}", Map.of("Idempotency-Key", "x".repeat(129))),
        "Idempotency-Key must be");
    assertProblem(413, api.post(path, alice, "{\"amount\": 1, \"pad\": \"" + "x".repeat(70_000) + "\"}", key),
        "exceeds the limit");
    assertProblem(415, api.post(path, alice, "amount=10", Map.of("Idempotency-Key", "bad-2",
        "Content-Type", "text/plain")), "Content-Type");
    assertProblem(422, LedgerProblem.UNKNOWN_CURRENCY,
        api.post("/v1/accounts", alice, "{\"currency\":\"EUX\"}", Map.of()),
        "unknown currency");
    assertProblem(400, api.post("/v1/accounts", alice, "{}", Map.of()), "currency is required");
    assertProblem(422, LedgerProblem.INSUFFICIENT_FUNDS, api.post(withdrawals, alice, "{\"amount\": 501}", key),
        "insufficient funds");
    assertProblem(404, LedgerProblem.ACCOUNT_NOT_FOUND, deposit(alice, UUID.randomUUID().toString(), 10, "bad-3"),
        "does not exist");
    assertProblem(404, api.get("/v1/accounts/not%20an%20id", alice), "not a valid id");
    assertProblem(403, LedgerProblem.NOT_ACCOUNT_OWNER, deposit(bob, id, 10, "bad-4"), "another user");
    assertProblem(403, api.post(withdrawals, bob, "{\"amount\": 10}", key), "another user");
    assertProblem(403, api.get("/v1/accounts/" + id, bob), "another user");
    assertProblem(401, io.plaza.platform.ProblemCode.Common.UNAUTHORIZED, api.post(path, null, "{\"amount\": 10}", key),
        "missing bearer token");
    assertProblem(401, api.post(path, "not-a-jwt", "{\"amount\": 10}", key), "not a JWT");
    var devAuth = JwtAuth.fromConfig(node.system().settings().config());
    assertProblem(401, api.post(path, devAuth.mint("alice", Duration.ofMinutes(-5)), "{\"amount\": 10}", key),
        "expired");
    var forged = new JwtAuth("another-secret-of-at-least-32-bytes!!".getBytes(), "plaza", Duration.ZERO)
        .mint("alice", Duration.ofMinutes(5));
    assertProblem(401, api.post(path, forged, "{\"amount\": 10}", key), "signature");
    assertProblem(405, api.send("DELETE", "/v1/accounts/" + id, alice, null, Map.of()), "supported methods");
    assertProblem(404, api.get("/v1/nowhere", alice), "no such resource");

    // Nothing above changed the account: still the seed deposit only.
    var account = api.get("/v1/accounts/" + id, alice).json();
    assertEquals(500, account.get("balance").asLong());
    assertEquals(2, account.get("version").asLong());
    eventually(Duration.ofSeconds(20), () -> {
      var balance = api.get("/v1/accounts/" + id + "/balance", alice);
      assertEquals(200, balance.status(), balance.toString());
      assertEquals(2, balance.json().get("version").asLong(), balance.toString());
      assertProblem(403, api.get("/v1/accounts/" + id + "/balance", bob), "another user");
      return balance;
    });
  }

  @Test
  void publishesAccountEventsToKafkaInOrder() {
    var id = openAccount(alice, "EUR");
    for (int i = 1; i <= 5; i++) assertEquals(201, deposit(alice, id, i * 10, "k-" + i).status());
    assertEquals(201, api.post("/v1/accounts/" + id + "/withdrawals", alice, "{\"amount\":15}",
        Map.of("Idempotency-Key", "w-1")).status());

    var received = readTopic(TestNodes.ACCOUNTS_TOPIC, id, 7, Duration.ofSeconds(30));
    assertEquals(7, received.size(), "events for " + id + ": " + received);
    for (int i = 0; i < received.size(); i++) {
      assertEquals(i + 1, received.get(i).get("sequenceNr").asLong(), received.toString());
      assertEquals(1, received.get(i).get("schemaVersion").asInt());
    }
    assertEquals("AccountOpened", received.get(0).get("type").asText());
    assertEquals("FundsDeposited", received.get(1).get("type").asText());
    assertEquals(150, received.get(5).get("balance").asLong());
    assertEquals("FundsWithdrawn", received.get(6).get("type").asText());
    assertEquals(135, received.get(6).get("balance").asLong());
  }

  @Test
  void theBalanceIsTheNewestJournalEntryFoundAcrossBuckets() {
    var session = io.plaza.platform.Cassandra.session(node.system());
    var journal = new CassandraJournalRepository(session, TestNodes.KEYSPACE);
    var balances = new CassandraBalanceRepository(session, TestNodes.KEYSPACE, journal);
    var id = "bucketed-" + UUID.randomUUID();
    var owner = "owner-" + id;
    var at = java.time.Instant.parse("2026-12-07T10:00:00Z");
    long lastOfFirst = CassandraJournalRepository.BUCKET_SIZE - 1;
    try {
      balances.apply(java.util.List.of(new BalanceRepository.Opened(id, owner, "EUR", 0, at, 1)))
          .toCompletableFuture().join();
      assertEquals(0, balances.find(id).toCompletableFuture().join().orElseThrow().balance(), "opened, no movement");

      journal.append(java.util.List.of(deposit(id, lastOfFirst - 1, 40, at), deposit(id, lastOfFirst, 90, at)))
          .toCompletableFuture().join();
      var inFirst = balances.find(id).toCompletableFuture().join().orElseThrow();
      assertEquals(90, inFirst.balance());
      assertEquals(lastOfFirst, inFirst.version());

      // The projection may note the next bucket before its first entry lands: the read falls back a bucket.
      balances.apply(java.util.List.of(new BalanceRepository.JournalReached(id, 1))).toCompletableFuture().join();
      assertEquals(90, balances.find(id).toCompletableFuture().join().orElseThrow().balance());

      journal.append(java.util.List.of(deposit(id, lastOfFirst + 1, 95, at.plusSeconds(1))))
          .toCompletableFuture().join();
      var inSecond = balances.find(id).toCompletableFuture().join().orElseThrow();
      assertEquals(95, inSecond.balance());
      assertEquals(lastOfFirst + 1, inSecond.version());
      assertEquals(at.plusSeconds(1), inSecond.updatedAt());
      assertEquals(java.util.List.of(95L), balances.ofOwner(owner, 10).toCompletableFuture().join().stream()
          .map(BalanceRepository.Balance::balance).toList(), "the owner's list reads the same balance");
    } finally {
      // The keyspace is shared by the run's other tests, which run the ledger checker: these rows have no events.
      var cql = io.plaza.platform.Cassandra.underlying(node.system(), Duration.ofSeconds(10));
      cql.execute("DELETE FROM " + TestNodes.KEYSPACE + ".journal_entries WHERE account_id = '" + id
          + "' AND bucket IN (0, 1)");
      cql.execute("DELETE FROM " + TestNodes.KEYSPACE + ".balances WHERE account_id = '" + id + "'");
    }
  }

  private static JournalRepository.Entry deposit(String account, long seq, long balanceAfter, java.time.Instant at) {
    return JournalProjectionHandler.entryFor(
        new LedgerAccount.FundsDeposited(account, "op-" + seq, 5, balanceAfter, at), seq);
  }

  /** The Java client the build generates from openapi.yaml (target/generated-clients/java), against this node. */
  private io.plaza.client.api.LedgerApi generatedClient(String user) {
    var token = api.token(user);
    var client = new io.plaza.client.ApiClient();
    client.updateBaseUri("http://127.0.0.1:" + node.httpPort());
    client.setRequestInterceptor(request -> request.header("Authorization", "Bearer " + token));
    return new io.plaza.client.api.LedgerApi(client);
  }

  @Test
  void theGeneratedJavaClientOpensAnAccountDepositsAndReadsAProblem() throws Exception {
    var ledger = generatedClient("gen-client");
    var account = ledger.openAccount(new io.plaza.client.model.OpenAccountRequest().currency("EUR"), null);
    assertEquals("gen-client", account.getOwner());
    assertEquals(0L, account.getBalance());
    var movement = ledger.deposit(account.getAccountId(), "gen-1",
        new io.plaza.client.model.DepositRequest().amount(250L));
    assertEquals(250L, movement.getBalanceAfter());
    assertEquals(250L, ledger.getAccount(account.getAccountId()).getBalance());

    var refused = org.junit.jupiter.api.Assertions.assertThrows(io.plaza.client.ApiException.class,
        () -> generatedClient("gen-other").getAccount(account.getAccountId()));
    assertEquals(403, refused.getCode());
    org.junit.jupiter.api.Assertions.assertTrue(
        refused.getResponseBody().contains("\"code\":\"not-account-owner\""), refused.getResponseBody());
  }
}
