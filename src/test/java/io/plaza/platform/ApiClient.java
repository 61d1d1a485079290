package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A plain JDK HTTP client for the integration tests: real requests over the loopback to a running node. */
public final class ApiClient {

  public record Response(int status, HttpResponse<String> raw) {
    public JsonNode json() {
      try {
        return Json.MAPPER.readTree(raw.body());
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + raw.body(), e);
      }
    }

    public String contentType() {
      return raw.headers().firstValue("Content-Type").orElse("");
    }

    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }

    @Override
    public String toString() {
      return status + " " + raw.body();
    }
  }

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final boolean checkContract;

  public ApiClient(int port) {
    this(port, true);
  }

  /**
   * {@code checkContract} off only for a client that also talks to nodes of an earlier release (the rolling
   * upgrade): their answers follow their own contract.
   */
  public ApiClient(int port, boolean checkContract) {
    this.base = "http://127.0.0.1:" + port;
    this.checkContract = checkContract;
  }

  public String base() {
    return base;
  }

  public String token(String userId) {
    var response = send("POST", "/v1/dev/tokens", null, "{\"userId\":\"" + userId + "\"}", Map.of());
    if (response.status() != 201) throw new AssertionError("cannot mint token: " + response);
    return response.json().get("token").asText();
  }

  public Response get(String path, String token) {
    return send("GET", path, token, null, Map.of());
  }

  public Response post(String path, String token, String body, Map<String, String> headers) {
    return send("POST", path, token, body, headers);
  }

  public Response send(String method, String path, String token, String body, Map<String, String> headers) {
    var request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(15))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null && !headers.containsKey("Content-Type")) request.header("Content-Type", "application/json");
    if (token != null) request.header("Authorization", "Bearer " + token);
    headers.forEach(request::header);
    try {
      var raw = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      // The contract cannot drift from the code: every answer a test sees is checked against openapi.yaml.
      var violations = !checkContract ? java.util.List.<String>of() : ApiContract.get().violations(method, path,
          raw.statusCode(), raw.headers().firstValue("Content-Type").orElse(null), raw.body());
      if (!violations.isEmpty()) throw new AssertionError("not as openapi.yaml says: " + violations);
      return new Response(raw.statusCode(), raw);
    } catch (IOException e) {
      throw new AssertionError(method + " " + path + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
