package io.plaza.ledger;

import static io.plaza.platform.ItSupport.eventually;
import static io.plaza.platform.ItSupport.readTopic;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.ApiClient;
import io.plaza.platform.Cassandra;
import io.plaza.platform.NodeProcess;
import io.plaza.platform.TestNodes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A node killed (SIGKILL) between a transfer's debit and its credit: a new node on the same keyspace finishes the
 * transfer by itself — the sweep of unsettled transfers wakes the source account, whose recovery delivers the credit
 * again — nobody has to retry, and the invariant checker passes. (A saga's restart after a crash: TransferTest.)
 */
class TransferCrashIT {

  @Test
  void aTransferInterruptedBetweenDebitAndCreditCompletesAfterTheRestart() {
    String from;
    String to;
    String transferId;
    var log = Path.of(System.getProperty("plaza.it.infra-dir", "target"), "crash-node.log");
    // This node waits 10 minutes after each debit: the kill is sure to land between debit and credit. And it holds
    // a pending transfer's row and sweep note back 9 s: the kill lands before they are written too, while the offset
    // its projection saved is past the debit (the balance shows it), so the new node finds the transfer only by
    // restarting its projection before that offset (plaza.projections.restart-rewind, 10 s).
    try (var doomed = NodeProcess.start(Map.of("plaza.ledger.transfers.fault-injection.pause-before-credit", "10m",
        "plaza.ledger.transfers.pending-row-delay", "9s"), log)) {
      var api = new ApiClient(doomed.httpPort());
      var dave = api.token("dave");
      var erin = api.token("erin");
      from = openAccount(api, dave, 1_000);
      to = openAccount(api, erin, 0);

      var accepted = api.post("/v1/transfers", dave, """
          {"from":"%s","to":"%s","amount":250,"currency":"EUR"}""".formatted(from, to),
          Map.of("Idempotency-Key", "crash-1"));
      assertEquals(202, accepted.status(), accepted.toString());
      assertEquals("PENDING", accepted.json().get("status").asText());
      transferId = accepted.json().get("transferId").asText();
      assertEquals("/v1/transfers/" + transferId, accepted.header("Location"));
      eventually(Duration.ofSeconds(10), () -> {
        assertEquals(750, balance(api, dave, from));
        return null;
      });
      assertEquals(0, balance(api, erin, to));
      // The debit is in the journal read model: the projection that also writes transfer rows has handled it and
      // saved an offset past it, yet its row is still held back.
      eventually(Duration.ofSeconds(8), () -> {
        var entries = api.get("/v1/accounts/" + from + "/entries", dave);
        assertTrue(entries.toString().contains(transferId), entries.toString());
        return null;
      });
      assertEquals(404, api.get("/v1/transfers/" + transferId, dave).status(), "its row is still held back");
      doomed.kill();
    }

    try (var node = TestNodes.start()) {
      var api = new ApiClient(node.httpPort());
      var dave = api.token("dave");
      // Nobody touches the transfer or its accounts: the sweep wakes the source, which delivers the credit.
      var done = eventually(Duration.ofSeconds(60), () -> {
        var r = api.get("/v1/transfers/" + transferId, dave);
        assertEquals(200, r.status(), r.toString());
        assertEquals("COMPLETED", r.json().get("status").asText(), r.toString());
        return r.json();
      });
      assertEquals(List.of("requested", "debited", "credited"), done.get("steps").findValuesAsText("name"));
      assertEquals(750, balance(api, dave, from));
      assertEquals(250, balance(api, api.token("erin"), to));

      // A client retrying after the restart gets the outcome, and nothing moves again.
      var retry = api.post("/v1/transfers", dave, """
          {"from":"%s","to":"%s","amount":250,"currency":"EUR"}""".formatted(from, to),
          Map.of("Idempotency-Key", "crash-1"));
      assertEquals(200, retry.status(), retry.toString());
      assertEquals(750, balance(api, dave, from));

      var messages = readTopic(TestNodes.TRANSFERS_TOPIC, transferId, 2, Duration.ofSeconds(30));
      // Its source account coordinated it: sequence numbers are the account's, increasing along the transfer.
      var states = messages.stream().map(m -> m.get("type").asText()).distinct().toList();
      assertEquals(List.of("TransferRequested", "TransferCompleted"), states, messages.toString());
      var seqs = messages.stream().map(m -> m.get("sequenceNr").asLong()).distinct().toList();
      assertEquals(2, seqs.size(), messages.toString());
      assertTrue(seqs.get(0) < seqs.get(1), messages.toString());

      var report = api.get("/v1/admin/ledger/check?settle=20", api.token("admin"));
      assertEquals(200, report.status(), report.toString());
      assertTrue(report.json().get("passed").asBoolean(), report.toString());
      assertEquals(0, ledgerCheck(), "bin/ledger-check exit code on a clean ledger");
      assertEquals(403, api.get("/v1/admin/ledger/check", dave).status());

      // The checker is not blind: a forged journal credit (money from nowhere) fails two invariants.
      Cassandra.underlying(node.system(), Duration.ofSeconds(10)).execute("INSERT INTO " + TestNodes.KEYSPACE
          + ".journal_entries (account_id, bucket, seq, entry_type, side, amount, balance_after, transfer_id) "
          + "VALUES ('" + to + "', 0, 999, 'transfer', 'CREDIT', 1, 251, 'forged')");
      var failed = api.get("/v1/admin/ledger/check", api.token("admin")).json();
      assertFalse(failed.get("passed").asBoolean(), failed.toString());
      var violations = failed.findValues("violations").toString();
      assertTrue(violations.contains("transfer forged has journal legs but no transfer record"), violations);
      // The balance read model follows the newest journal entry, and no event of the entity explains that entry.
      assertTrue(violations.contains("account " + to + ": balances 251, Σjournal 251, entity has no event 999"),
          violations);
      assertEquals(1, ledgerCheck(), "bin/ledger-check exit code on a violation");
      // The keyspace is shared by the run's other tests, which check the ledger too: take the forgery back out.
      Cassandra.underlying(node.system(), Duration.ofSeconds(10)).execute("DELETE FROM " + TestNodes.KEYSPACE
          + ".journal_entries WHERE account_id = '" + to + "' AND bucket = 0 AND seq = 999");
      assertTrue(api.get("/v1/admin/ledger/check", api.token("admin")).json().get("passed").asBoolean());
    }
  }

  /** Runs the checker as {@code bin/ledger-check} does (its own JVM, settle 0) and returns its exit code. */
  private static int ledgerCheck() {
    var javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var builder = new ProcessBuilder(javaBin, "-cp", NodeProcess.classpath(), "io.plaza.ledger.LedgerCheck", "0")
        .redirectErrorStream(true)
        .redirectOutput(Path.of(System.getProperty("plaza.it.infra-dir", "target"), "ledger-check.log").toFile());
    builder.environment().put("PLAZA_KEYSPACE", TestNodes.KEYSPACE);
    builder.environment().put("CASSANDRA_CONTACT_POINTS", "127.0.0.1:" + TestNodes.CASSANDRA_PORT);
    try {
      var process = builder.start();
      if (!process.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("ledger-check did not finish within 120 s");
      }
      return process.exitValue();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String openAccount(ApiClient api, String token, long deposit) {
    var opened = api.post("/v1/accounts", token, "{\"currency\":\"EUR\"}", Map.of());
    assertEquals(201, opened.status(), opened.toString());
    var id = opened.json().get("accountId").asText();
    if (deposit > 0) {
      assertEquals(201, api.post("/v1/accounts/" + id + "/deposits", token, "{\"amount\":" + deposit + "}",
          Map.of("Idempotency-Key", "seed")).status());
    }
    return id;
  }

  private static long balance(ApiClient api, String token, String id) {
    var r = api.get("/v1/accounts/" + id, token);
    assertEquals(200, r.status(), r.toString());
    return r.json().get("balance").asLong();
  }
}
