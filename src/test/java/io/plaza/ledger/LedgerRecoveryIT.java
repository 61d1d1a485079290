package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.plaza.platform.ApiClient;
import io.plaza.platform.TestNodes;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** State lives in the Cassandra journal: a new ActorSystem on the same keyspace recovers it. */
class LedgerRecoveryIT {

  @Test
  void recoversAccountsAndIdempotencyKeysAfterTheNodeRestarts() {
    String id;
    try (var first = TestNodes.start()) {
      var api = new ApiClient(first.httpPort());
      var token = api.token("carol");
      id = api.post("/v1/accounts", token, "{\"currency\":\"CHF\"}", Map.of()).json().get("accountId").asText();
      // Enough events to cross the snapshot interval (100): recovery uses snapshot + the events after it.
      for (int i = 1; i <= 120; i++) {
        var r = api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + i + "}",
            Map.of("Idempotency-Key", "dep-" + i));
        assertEquals(201, r.status(), r.toString());
      }
    }

    try (var second = TestNodes.start()) {
      var api = new ApiClient(second.httpPort());
      var token = api.token("carol");
      var account = api.get("/v1/accounts/" + id, token);
      assertEquals(200, account.status(), account.toString());
      assertEquals(120 * 121 / 2, account.json().get("balance").asLong());
      assertEquals(121, account.json().get("version").asLong());

      // A client retrying across the restart does not pay twice.
      var retry = api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":120}",
          Map.of("Idempotency-Key", "dep-120"));
      assertEquals(200, retry.status(), retry.toString());
      assertEquals("true", retry.header("Idempotent-Replayed"));
      assertEquals(120 * 121 / 2, api.get("/v1/accounts/" + id, token).json().get("balance").asLong());
    }
  }
}
