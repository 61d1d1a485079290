package io.plaza.ledger;

import static io.plaza.platform.ItSupport.assertProblem;
import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.ApiClient;
import io.plaza.platform.PlazaNode;
import io.plaza.platform.TestNodes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Transfers end to end on one node over the real Cassandra and Kafka. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransferApiIT {

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

  private String openAccount(String token, String currency, long deposit) {
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"" + currency + "\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var id = opened.json().get("accountId").asText();
    if (deposit > 0) {
      var deposited = api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + deposit + "}",
          Map.of("Idempotency-Key", "seed-" + id));
      assertEquals(201, deposited.status(), deposited.toString());
    }
    return id;
  }

  private ApiClient.Response transfer(String token, String key, String from, String to, long amount) {
    return api.post("/v1/transfers", token, """
        {"from":"%s","to":"%s","amount":%d,"currency":"EUR","reference":"rent"}""".formatted(from, to, amount),
        Map.of("Idempotency-Key", key));
  }

  private long balance(String token, String id) {
    var account = api.get("/v1/accounts/" + id, token);
    assertEquals(200, account.status(), account.toString());
    return account.json().get("balance").asLong();
  }

  @Test
  void aTransferMovesMoneyOnceWhateverTheRetries() {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var key = "pay-" + UUID.randomUUID();

    var created = transfer(alice, key, a, b, 300);
    assertEquals(201, created.status(), created.toString());
    var id = created.json().get("transferId").asText();
    assertEquals("/v1/transfers/" + id, created.header("Location"));
    assertEquals("false", created.header("Idempotent-Replayed"));
    assertEquals("COMPLETED", created.json().get("status").asText());
    assertEquals(List.of("requested", "debited", "credited"),
        created.json().get("steps").findValuesAsText("name"));

    var retried = transfer(alice, key, a, b, 300);
    assertEquals(200, retried.status(), retried.toString());
    assertEquals("true", retried.header("Idempotent-Replayed"));
    assertEquals(id, retried.json().get("transferId").asText());
    assertProblem(409, LedgerProblem.IDEMPOTENCY_KEY_REUSED, transfer(alice, key, a, b, 301),
        "already used for a different transfer");

    assertEquals(700, balance(alice, a));
    assertEquals(300, balance(bob, b));

    var shown = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/transfers/" + id, alice);
      assertEquals(200, r.status(), r.toString());
      assertEquals("COMPLETED", r.json().get("status").asText(), r.toString());
      return r.json();
    });
    assertEquals(List.of("requested", "debited", "credited"), shown.get("steps").findValuesAsText("name"));
    assertEquals(300, shown.get("amount").asLong());
    assertEquals("rent", shown.get("reference").asText());
    assertProblem(403, api.get("/v1/transfers/" + id, bob), "another user");
    assertProblem(404, api.get("/v1/transfers/" + UUID.randomUUID(), alice), "does not exist");
    assertProblem(404, api.get("/v1/transfers/nope", alice), "not a valid id");

    // One Kafka message per state change, keyed by transfer id.
    var messages = readTopic(TestNodes.TRANSFERS_TOPIC, id, 2, Duration.ofSeconds(30));
    assertEquals(List.of("TransferRequested", "TransferCompleted"), messages.stream()
        .map(m -> m.get("type").asText()).toList(), messages.toString());
    // The source account coordinated it: the account's sequence numbers, increasing along the transfer.
    var seqs = messages.stream().map(m -> m.get("sequenceNr").asLong()).toList();
    assertTrue(seqs.get(0) < seqs.get(1), seqs.toString());
  }

  @Test
  void aRefusedDebitIsTheFinalAnswerForItsKey() {
    var a = openAccount(alice, "EUR", 100);
    var b = openAccount(bob, "EUR", 0);
    var key = "big-" + UUID.randomUUID();

    assertProblem(422, LedgerProblem.INSUFFICIENT_FUNDS, transfer(alice, key, a, b, 101), "insufficient funds");
    var again = transfer(alice, key, a, b, 101);
    assertProblem(422, LedgerProblem.INSUFFICIENT_FUNDS, again, "insufficient funds");
    assertEquals("true", again.header("Idempotent-Replayed"));
    assertEquals(100, balance(alice, a));
    assertEquals(0, balance(bob, b));
    var id = Transfer.idFor("alice", key);
    var shown = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/transfers/" + id, alice);
      assertEquals(200, r.status(), r.toString());
      // The read model shows PENDING first, then the outcome a moment later.
      assertEquals("FAILED", r.json().get("status").asText(), r.toString());
      return r.json();
    });
    assertEquals(List.of("requested", "refused"), shown.get("steps").findValuesAsText("name"));
  }

  @Test
  void badTransfersAreRefusedWithProblemJsonAndChangeNothing() {
    var a = openAccount(alice, "EUR", 500);
    var b = openAccount(bob, "EUR", 0);
    var dollars = openAccount(bob, "USD", 0);
    var key = Map.of("Idempotency-Key", "bad-" + UUID.randomUUID());
    java.util.function.BiFunction<String, String, String> bodyWith = (amount, currency) ->
        "{\"from\":\"" + a + "\",\"to\":\"" + b + "\"," + amount + "\"currency\":\"" + currency + "\"}";
    String body = bodyWith.apply("\"amount\":10,", "EUR");

    assertProblem(400, api.post("/v1/transfers", alice, body, Map.of()), "Idempotency-Key header is required");
    assertProblem(400, api.post("/v1/transfers", alice, body, Map.of("Idempotency-Key", "k".repeat(129))),
        "Idempotency-Key must be");
    assertProblem(400, api.post("/v1/transfers", alice, "{\"from\":", key), "malformed JSON");
    assertProblem(400, api.post("/v1/transfers", alice, bodyWith.apply("\"amount\":\"ten\",", "EUR"), key),
        "'amount' must be an integer");
    assertProblem(400, api.post("/v1/transfers", alice, bodyWith.apply("\"amount\":0,", "EUR"), key), "positive");
    assertProblem(400, api.post("/v1/transfers", alice, bodyWith.apply("\"amount\":-10,", "EUR"), key),
        "positive");
    assertProblem(400, api.post("/v1/transfers", alice, bodyWith.apply("", "EUR"), key),
        "amount is required");
    assertProblem(400, api.post("/v1/transfers", alice, body.replace("}", ",\"memo\":\"x\"}"), key),
        "unknown field 'memo'");
    assertProblem(400, api.post("/v1/transfers", alice, body.replace("}", ",\"reference\":\"" + "r".repeat(141)
        + "\"}"), key), "reference must be at most");
    assertProblem(422, transfer(alice, key.get("Idempotency-Key"), a, a, 10), "different accounts");
    assertProblem(422, api.post("/v1/transfers", alice, bodyWith.apply("\"amount\":10,", "EUX"), key),
        "unknown currency");
    assertProblem(422, api.post("/v1/transfers", alice, bodyWith.apply("\"amount\":10,", "USD"), key),
        "does not match");
    assertProblem(422, LedgerProblem.CURRENCY_MISMATCH, transfer(alice, key.get("Idempotency-Key"), a, dollars, 10),
        "does not match destination");
    assertProblem(422, transfer(alice, key.get("Idempotency-Key"), a, UUID.randomUUID().toString(), 10),
        "does not exist");
    assertProblem(422, transfer(alice, key.get("Idempotency-Key"), a, "bad id!", 10), "not a valid account id");
    assertProblem(403, transfer(bob, key.get("Idempotency-Key"), a, b, 10), "another user");
    assertProblem(401, api.post("/v1/transfers", null, body, key), "missing bearer token");

    assertEquals(500, balance(alice, a));
    assertEquals(0, balance(bob, b));
    assertEquals(0, balance(bob, dollars));
    // None of the refusals left a transfer behind: the key is still free for a valid request.
    var valid = api.post("/v1/transfers", alice, body, key);
    assertEquals(201, valid.status(), valid.toString());
    assertEquals(490, balance(alice, a));
  }

  @Test
  void theJournalHasOneEntryPerLegAndPagesStayStable() {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var ids = new java.util.ArrayList<String>();
    for (int i = 1; i <= 3; i++) {
      var r = transfer(alice, "j-" + i + "-" + a, a, b, i * 100);
      assertEquals(201, r.status(), r.toString());
      ids.add(r.json().get("transferId").asText());
    }
    // Alice: the deposit and three debits; Bob: three credits, each with the balance after it.
    var first = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/accounts/" + a + "/entries?limit=2", alice);
      assertEquals(200, r.status(), r.toString());
      assertEquals(2, r.json().get("entries").size(), r.toString());
      assertFalse(r.json().get("nextCursor").isNull(), r.toString());
      var rest = api.get("/v1/accounts/" + a + "/entries?cursor=" + r.json().get("nextCursor").asText(), alice);
      assertEquals(200, rest.status(), rest.toString());
      assertEquals(2, rest.json().get("entries").size(), rest.toString());
      return r.json();
    });
    var cursor = first.get("nextCursor").asText();
    assertEquals(List.of("deposit", "transfer"), first.get("entries").findValuesAsText("type"));
    assertEquals(List.of("CREDIT", "DEBIT"), first.get("entries").findValuesAsText("side"));
    assertEquals(ids.get(0), first.get("entries").get(1).get("transferId").asText());
    assertEquals(b, first.get("entries").get(1).get("counterparty").asText());
    assertEquals(900, first.get("entries").get(1).get("balanceAfter").asLong());
    assertEquals("EUR", first.get("entries").get(1).get("currency").asText());

    // A new entry arriving after the first page does not shift the next one.
    assertEquals(201, api.post("/v1/accounts/" + a + "/deposits", alice, "{\"amount\":5}",
        Map.of("Idempotency-Key", "late-" + a)).status());
    var second = eventually(Duration.ofSeconds(20), () -> {
      var response = api.get("/v1/accounts/" + a + "/entries?limit=2&cursor=" + cursor, alice);
      assertEquals(200, response.status(), response.toString());
      var r = response.json();
      assertEquals(2, r.get("entries").size(), r.toString());
      assertEquals("true", String.valueOf(r.hasNonNull("nextCursor")), r.toString());
      return r;
    });
    assertEquals(List.of(ids.get(1), ids.get(2)), second.get("entries").findValuesAsText("transferId"));
    assertEquals(List.of(700L, 400L), second.get("entries").findValues("balanceAfter").stream()
        .map(n -> n.asLong()).toList());
    var last = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/accounts/" + a + "/entries?limit=2&cursor=" + second.get("nextCursor").asText(), alice);
      assertEquals(200, r.status(), r.toString());
      assertEquals(1, r.json().get("entries").size(), r.toString());
      return r.json();
    });
    assertEquals(405, last.get("entries").get(0).get("balanceAfter").asLong());
    assertEquals("true", String.valueOf(last.get("nextCursor").isNull()));

    var credits = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/accounts/" + b + "/entries", bob);
      assertEquals(200, r.status(), r.toString());
      assertEquals(3, r.json().get("entries").size(), r.toString());
      return r.json();
    });
    assertEquals(List.of("CREDIT", "CREDIT", "CREDIT"), credits.get("entries").findValuesAsText("side"));
    assertEquals(List.of(100L, 300L, 600L), credits.get("entries").findValues("balanceAfter").stream()
        .map(n -> n.asLong()).toList());
    assertEquals(ids, credits.get("entries").findValuesAsText("transferId"));

    assertProblem(403, api.get("/v1/accounts/" + a + "/entries", bob), "another user");
    assertProblem(400, api.get("/v1/accounts/" + a + "/entries?limit=0", alice), "limit must be");
    assertProblem(400, api.get("/v1/accounts/" + a + "/entries?limit=201", alice), "limit must be");
    assertProblem(400, api.get("/v1/accounts/" + a + "/entries?cursor=abc", alice), "cursor must be");
  }

  @Test
  void aPendingTransferHoldsUntilPostedOrVoided() {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var held = api.post("/v1/transfers", alice, """
        {"from":"%s","to":"%s","amount":400,"currency":"EUR","pending":true,"timeoutSeconds":3600}"""
        .formatted(a, b), Map.of("Idempotency-Key", "hotel-" + a));
    assertEquals(201, held.status(), held.toString());
    assertEquals("HELD", held.json().get("status").asText());
    var id = held.json().get("transferId").asText();
    var account = api.get("/v1/accounts/" + a, alice).json();
    assertEquals(1_000, account.get("balance").asLong());
    assertEquals(400, account.get("held").asLong());
    assertEquals(600, account.get("available").asLong());
    // The read model shows posted and available balances.
    eventually(Duration.ofSeconds(20), () -> {
      var response = api.get("/v1/accounts/" + a + "/balance", alice);
      assertEquals(200, response.status(), response.toString());
      var r = response.json();
      assertEquals(600, r.get("available").asLong(), r.toString());
      assertEquals(1_000, r.get("balance").asLong(), r.toString());
      var t = api.get("/v1/transfers/" + id, alice);
      assertEquals(200, t.status(), t.toString());
      return r;
    });

    assertProblem(400, api.post("/v1/transfers/" + id + "/post", alice, "{\"amount\":0}", Map.of()), "positive");
    assertProblem(403, api.post("/v1/transfers/" + id + "/post", bob, "{}", Map.of()), "another user");
    var posted = api.post("/v1/transfers/" + id + "/post", alice, "{\"amount\":350}", Map.of());
    assertEquals(200, posted.status(), posted.toString());
    assertEquals("COMPLETED", posted.json().get("status").asText());
    assertEquals(350, posted.json().get("postedAmount").asLong());
    assertEquals(650, balance(alice, a));
    assertEquals(350, balance(bob, b));
    assertProblem(409, api.post("/v1/transfers/" + id + "/post", alice, "{\"amount\":300}", Map.of()),
        "already posted");
    assertProblem(409, LedgerProblem.TRANSFER_ENDED, api.post("/v1/transfers/" + id + "/void", alice, null, Map.of()),
        "cannot be voided");

    var second = api.post("/v1/transfers", alice, """
        {"from":"%s","to":"%s","amount":100,"currency":"EUR","pending":true}""".formatted(a, b),
        Map.of("Idempotency-Key", "deposit-hold-" + a));
    assertEquals("HELD", second.json().get("status").asText(), second.toString());
    var secondId = second.json().get("transferId").asText();
    var voided = eventually(Duration.ofSeconds(20), () -> {
      var r = api.post("/v1/transfers/" + secondId + "/void", alice, null, Map.of());
      assertEquals(200, r.status(), r.toString());
      return r.json();
    });
    assertEquals("VOIDED", voided.get("status").asText());
    assertEquals(650, balance(alice, a));
    assertEquals(0, api.get("/v1/accounts/" + a, alice).json().get("held").asLong());
    assertProblem(409, LedgerProblem.HOLD_SETTLED,
        api.post("/v1/transfers/" + secondId + "/post", alice, "{}", Map.of()),
        "voided");
    assertProblem(400, api.post("/v1/transfers", alice, """
        {"from":"%s","to":"%s","amount":100,"currency":"EUR","timeoutSeconds":60}""".formatted(a, b),
        Map.of("Idempotency-Key", "bad-hold-" + a)), "pending transfers only");
    assertProblem(404, api.post("/v1/transfers/" + UUID.randomUUID() + "/void", alice, null, Map.of()),
        "does not exist");

    // The journal has the posted amount once on each side; the hold itself is not an entry.
    var entries = eventually(Duration.ofSeconds(20), () -> {
      var response = api.get("/v1/accounts/" + a + "/entries", alice);
      assertEquals(200, response.status(), response.toString());
      assertEquals(2, response.json().get("entries").size(), response.toString());
      return response.json();
    });
    assertEquals(350, entries.get("entries").get(1).get("amount").asLong());
    assertEquals("DEBIT", entries.get("entries").get(1).get("side").asText());
    var check = api.get("/v1/admin/ledger/check?settle=20", api.token("admin")).json();
    assertEquals("true", check.get("passed").asText(), check.toString());
  }

  @Test
  void aReversalGivesACompletedTransferBackOnceWithoutEditingIt() {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var paid = transfer(alice, "order-" + a, a, b, 300);
    assertEquals(201, paid.status(), paid.toString());
    var id = paid.json().get("transferId").asText();
    var refused = transfer(alice, "too-much-" + a, a, b, 5_000);
    assertEquals(422, refused.status(), refused.toString());
    var refusedId = Transfer.idFor("alice", "too-much-" + a);

    var reversed = eventually(Duration.ofSeconds(20), () -> {
      var r = api.post("/v1/transfers/" + id + "/reversal", bob, null, Map.of());
      assertEquals(201, r.status(), r.toString());
      return r.json();
    });
    assertEquals("COMPLETED", reversed.get("status").asText());
    assertEquals(id, reversed.get("reverses").asText());
    assertEquals(b, reversed.get("from").asText());
    assertEquals(a, reversed.get("to").asText());
    assertEquals(300, reversed.get("amount").asLong());
    assertEquals(1_000, balance(alice, a));
    assertEquals(0, balance(bob, b));

    var again = api.post("/v1/transfers/" + id + "/reversal", bob, null, Map.of());
    assertEquals(200, again.status(), again.toString());
    assertEquals(reversed.get("transferId"), again.json().get("transferId"));
    assertEquals(1_000, balance(alice, a));
    // The payer cannot pull the money back out of the payee's account; the original is untouched.
    assertProblem(403, api.post("/v1/transfers/" + id + "/reversal", alice, null, Map.of()), "another user");
    // (The read model trails: the reversal no longer waits for it, the GET does.)
    eventually(Duration.ofSeconds(20), () -> {
      assertEquals("COMPLETED", api.get("/v1/transfers/" + id, alice).json().path("status").asText());
      return null;
    });
    var reversalId = reversed.get("transferId").asText();
    eventually(Duration.ofSeconds(20), () -> {
      assertProblem(409, api.post("/v1/transfers/" + reversalId + "/reversal", alice, null, Map.of()),
          "itself a reversal");
      assertProblem(409, api.post("/v1/transfers/" + refusedId + "/reversal", bob, null, Map.of()),
          "only a completed transfer");
      return null;
    });
    assertProblem(404, api.post("/v1/transfers/" + UUID.randomUUID() + "/reversal", bob, null, Map.of()),
        "does not exist");
  }

  @Test
  void linkedTransfersApplyAllLegsOrNone() {
    var a = openAccount(alice, "EUR", 100);
    var b = openAccount(bob, "EUR", 0);
    var c = openAccount(bob, "EUR", 0);
    var batch = """
        {"legs":[{"from":"%s","to":"%s","amount":30,"currency":"EUR"},
                 {"from":"%s","to":"%s","amount":%d,"currency":"EUR","reference":"split"}]}""";
    var key = Map.of("Idempotency-Key", "split-" + a);

    // 30 + 80 > 100: the second leg is refused, so neither leg happens.
    var refused = api.post("/v1/transfer-batches", alice, batch.formatted(a, b, a, c, 80),
        Map.of("Idempotency-Key", "too-much-" + a));
    assertProblem(422, refused, "no leg took effect");
    assertEquals(100, balance(alice, a));
    assertEquals(0, balance(bob, b));
    assertEquals(0, api.get("/v1/accounts/" + a, alice).json().get("held").asLong());

    var done = api.post("/v1/transfer-batches", alice, batch.formatted(a, b, a, c, 70), key);
    assertEquals(201, done.status(), done.toString());
    assertEquals("COMPLETED", done.json().get("status").asText());
    var batchId = done.json().get("batchId").asText();
    assertEquals(0, balance(alice, a));
    assertEquals(30, balance(bob, b));
    assertEquals(70, balance(bob, c));
    var again = api.post("/v1/transfer-batches", alice, batch.formatted(a, b, a, c, 70), key);
    assertEquals(200, again.status(), again.toString());
    assertEquals(batchId, again.json().get("batchId").asText());
    assertProblem(409, api.post("/v1/transfer-batches", alice, batch.formatted(a, b, a, c, 60), key),
        "already used");
    assertEquals(0, balance(alice, a));

    assertProblem(400, api.post("/v1/transfer-batches", alice, "{\"legs\":[]}", Map.of("Idempotency-Key", "e")),
        "1 to 20");
    assertProblem(400, api.post("/v1/transfer-batches", alice, batch.formatted(a, b, a, c, 0),
        Map.of("Idempotency-Key", "z")), "legs[1]");
    assertProblem(403, api.post("/v1/transfer-batches", bob, batch.formatted(a, b, a, c, 1),
        Map.of("Idempotency-Key", "x")), "another user");

    var shown = eventually(Duration.ofSeconds(20), () -> {
      var r = api.get("/v1/transfer-batches/" + batchId, alice);
      assertEquals(200, r.status(), r.toString());
      return r.json();
    });
    assertEquals(List.of("requested", "reserved", "committed"), shown.get("steps").findValuesAsText("name"));
    assertEquals(batchId + ":1", shown.get("legs").get(1).get("transferId").asText());
    assertProblem(403, api.get("/v1/transfer-batches/" + batchId, bob), "another user");
    var messages = readTopic(TestNodes.TRANSFERS_TOPIC, batchId, 3, Duration.ofSeconds(30));
    assertEquals(List.of("BatchRequested", "BatchReserved", "BatchCompleted"),
        messages.stream().map(m -> m.get("type").asText()).toList(), messages.toString());
    var check = api.get("/v1/admin/ledger/check?settle=20", api.token("admin")).json();
    assertEquals("true", check.get("passed").asText(), check.toString());
  }

  /** Commands ask the transfer's entity, which knows it from its first answer on: no wait for the read model. */
  @Test
  void aTransferTakesCommandsTheMomentItsPostIsAnswered() {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var hold = """
        {"from":"%s","to":"%s","amount":100,"currency":"EUR","pending":true}""".formatted(a, b);
    for (int i = 0; i < 5; i++) {
      var held = api.post("/v1/transfers", alice, hold, Map.of("Idempotency-Key", "now-post-" + i + a));
      assertEquals(201, held.status(), held.toString());
      var heldId = held.json().get("transferId").asText();
      var posted = api.post("/v1/transfers/" + heldId + "/post", alice, "{}", Map.of());
      if (posted.status() == 202) {
        // Not done within the completion wait (a loaded machine): 202 says poll, as a client would.
        posted = io.plaza.platform.ItSupport.eventually(Duration.ofSeconds(20), () -> {
          var polled = api.get("/v1/transfers/" + heldId, alice);
          assertEquals("COMPLETED", polled.json().get("status").asText(), polled.toString());
          return polled;
        });
      }
      assertEquals(200, posted.status(), posted.toString());
      assertEquals(100, posted.json().get("postedAmount").asLong(), "no amount posts what is held");

      var other = api.post("/v1/transfers", alice, hold, Map.of("Idempotency-Key", "now-void-" + i + a));
      var otherId = other.json().get("transferId").asText();
      assertProblem(403, api.post("/v1/transfers/" + otherId + "/void", bob, null, Map.of()), "another user");
      var voided = api.post("/v1/transfers/" + otherId + "/void", alice, null, Map.of());
      assertEquals(200, voided.status(), voided.toString());
      assertEquals("VOIDED", voided.json().get("status").asText());

      var paid = transfer(alice, "now-rev-" + i + a, a, b, 10);
      var reversed = api.post("/v1/transfers/" + paid.json().get("transferId").asText() + "/reversal", bob, null,
          Map.of());
      assertEquals(201, reversed.status(), reversed.toString());
    }
    assertEquals(500, balance(alice, a));
    assertProblem(404, api.post("/v1/transfers/" + UUID.randomUUID() + "/post", alice, "{}", Map.of()),
        "does not exist");
    assertProblem(404, api.post("/v1/transfers/" + UUID.randomUUID() + "/void", alice, null, Map.of()),
        "does not exist");
  }

  @Test
  void copiesOfOneRequestSentAtOnceMoveMoneyOnceAndAllButOneSayTheyAreReplays() throws Exception {
    var a = openAccount(alice, "EUR", 1_000);
    var b = openAccount(bob, "EUR", 0);
    var key = "burst-" + UUID.randomUUID();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      var start = new java.util.concurrent.CountDownLatch(1);
      var sent = new java.util.ArrayList<java.util.concurrent.Future<ApiClient.Response>>();
      for (int i = 0; i < 8; i++) {
        sent.add(pool.submit(() -> {
          start.await();
          return transfer(alice, key, a, b, 100);
        }));
      }
      start.countDown();
      var originals = 0;
      for (var response : sent) {
        var r = response.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(r.status() == 201 || r.status() == 200, r.toString());
        boolean replayed = Boolean.parseBoolean(r.header("Idempotent-Replayed"));
        assertEquals(r.status() == 200, replayed, "200 and only 200 is a replay: " + r);
        if (!replayed) originals++;
      }
      assertEquals(1, originals, "exactly one copy is the original");
    } finally {
      pool.shutdownNow();
    }
    assertEquals(900, balance(alice, a));
  }
}
