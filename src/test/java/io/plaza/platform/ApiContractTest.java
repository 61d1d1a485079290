package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker every integration test's responses go through finds what drifts from openapi.yaml. */
class ApiContractTest {

  private final ApiContract contract = ApiContract.get();

  private static final String PROBLEM = "application/problem+json";

  @Test
  void aConformingProblemPassesAndOneWithoutItsCodeDoesNot() {
    var good = """
        {"type":"urn:plaza:problem:insufficient-funds","title":"Insufficient funds","status":422,
         "detail":"insufficient funds: balance 5, requested 10","code":"insufficient-funds"}""";
    assertEquals(List.of(), contract.violations("POST", "/v1/accounts/a/withdrawals", 422, PROBLEM, good));
    var noCode = """
        {"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"x"}""";
    assertTrue(!contract.violations("POST", "/v1/accounts/a/withdrawals", 422, PROBLEM, noCode).isEmpty());
    var unknownCode = good.replace("\"code\":\"insufficient-funds\"", "\"code\":\"out-of-money\"");
    assertTrue(!contract.violations("POST", "/v1/accounts/a/withdrawals", 422, PROBLEM, unknownCode).isEmpty());
  }

  @Test
  void anUndocumentedPathOrStatusIsAViolationUnlessItIsAProblem() {
    assertTrue(!contract.violations("GET", "/v1/nowhere", 200, "application/json", "{}").isEmpty());
    assertTrue(!contract.violations("POST", "/v1/accounts", 299, "application/json", "{}").isEmpty());
    var notFound = """
        {"type":"urn:plaza:problem:not-found","title":"Not found","status":404,"detail":"no such resource",
         "code":"not-found"}""";
    assertEquals(List.of(), contract.violations("GET", "/v1/nowhere?x=1", 404, PROBLEM, notFound));
  }

  @Test
  void aBodyOfTheWrongShapeIsAViolation() {
    var ticket = "{\"ticket\":\"" + "a".repeat(43) + "\",\"expiresAt\":\"2026-12-07T00:00:00Z\"}";
    assertEquals(List.of(), contract.violations("POST", "/v1/stream-tickets", 201, "application/json", ticket));
    assertTrue(!contract.violations("POST", "/v1/stream-tickets", 201, "application/json", "[1,2]").isEmpty(),
        "an array where an object is documented");
    assertTrue(!contract.violations("POST", "/v1/stream-tickets", 201, "application/json",
        ticket.replace("a".repeat(43), "short")).isEmpty(), "a ticket of the wrong pattern");
    assertTrue(!contract.violations("POST", "/v1/stream-tickets", 201, "application/json",
        "{\"ticket\":\"" + "a".repeat(43) + "\"}").isEmpty(), "a required member missing");
    assertTrue(!contract.violations("POST", "/v1/stream-tickets", 201, "application/json",
        ticket.replace("}", ",\"user\":\"ann\"}")).isEmpty(), "a member the document does not name");
  }
}
