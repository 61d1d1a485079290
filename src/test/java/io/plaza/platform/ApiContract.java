package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.dialect.Dialects;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The contract in {@code openapi.yaml} (as the build packs it), checked against every response an integration test
 * receives through {@link ApiClient}: the status is documented for the operation (or is a problem, which any
 * operation may answer), and the JSON body is valid against the documented schema (OpenAPI 3.0 dialect).
 */
public final class ApiContract {

  private static final ApiContract INSTANCE = new ApiContract(
      new SchemaDocument("openapi.yaml", Dialects.getOpenApi30()));

  private record Operation(String template, Pattern pattern, int literalSegments) {}

  private final SchemaDocument contract;
  private final JsonNode document;
  private final List<Operation> operations;

  private ApiContract(SchemaDocument contract) {
    this.contract = contract;
    this.document = contract.document();
    var ops = new ArrayList<Operation>();
    document.path("paths").fieldNames().forEachRemaining(template -> {
      var regex = Pattern.quote(template).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q");
      int literals = (int) java.util.Arrays.stream(template.split("/")).filter(s -> !s.startsWith("{")).count();
      ops.add(new Operation(template, Pattern.compile("^" + regex + "$"), literals));
    });
    // The most literal template first: /v1/transfers/{id}/post before /v1/transfers/{id}/{anything}.
    ops.sort(Comparator.comparingInt(Operation::literalSegments).reversed());
    this.operations = List.copyOf(ops);
  }

  public static ApiContract get() {
    return INSTANCE;
  }

  /** What in this response the contract does not allow; empty when it conforms. */
  public List<String> violations(String method, String pathAndQuery, int status, String contentType, String body) {
    var path = pathAndQuery.split("\\?", 2)[0];
    var verb = method.toLowerCase(Locale.ROOT);
    var mediaType = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    var operation = operations.stream().filter(o -> o.pattern().matcher(path).matches())
        .filter(o -> document.path("paths").path(o.template()).has(verb))
        .findFirst();
    var responseKey = operation.map(o -> responseKey(o, verb, status)).orElse(null);
    String pointer;
    if (responseKey == null) {
      // Any request may be refused with a problem: unknown paths, methods, limits, auth, overload.
      if (!mediaType.equals("application/problem+json")) {
        return List.of(method + " " + path + " answered " + status + " (" + mediaType + "), which "
            + (operation.isEmpty() ? "no documented operation matches" : "its operation does not document"));
      }
      pointer = "/components/schemas/Problem";
    } else {
      var base = "/paths/" + SchemaDocument.escape(operation.get().template()) + "/" + verb + "/responses/"
          + SchemaDocument.escape(responseKey);
      var response = document.at(base);
      if (response.has("$ref")) {
        base = response.get("$ref").asText().substring(1);
        response = document.at(base);
      }
      var content = response.path("content");
      if (content.isMissingNode() || content.isEmpty()) {
        return body == null || body.isEmpty() ? List.of()
            : List.of(method + " " + path + " " + status + " documents no body but has one: "
                + SchemaDocument.abbreviate(body));
      }
      if (!content.has(mediaType)) {
        var documented = new ArrayList<String>();
        content.fieldNames().forEachRemaining(documented::add);
        return List.of(method + " " + path + " " + status + " answered " + mediaType + "; documented: " + documented);
      }
      if (!mediaType.endsWith("json") || content.path(mediaType).path("schema").isMissingNode()) return List.of();
      pointer = base + "/content/" + SchemaDocument.escape(mediaType) + "/schema";
    }
    return contract.violations(pointer, body).stream()
        .map(e -> method + " " + path + " " + status + ": " + e + " in " + SchemaDocument.abbreviate(body)).toList();
  }

  /** The documented response for {@code status} (exact, then 4XX-style, then default), or null. */
  private String responseKey(Operation operation, String verb, int status) {
    var responses = document.path("paths").path(operation.template()).path(verb).path("responses");
    for (var key : List.of(String.valueOf(status), status / 100 + "XX", "default")) {
      if (responses.has(key)) return key;
    }
    return null;
  }
}
