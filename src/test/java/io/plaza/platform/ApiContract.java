package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialects;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The contract in {@code openapi.yaml} (as the build packs it), checked against every response an integration test
 * receives through {@link ApiClient}: the status is documented for the operation (or is a problem, which any
 * operation may answer), and the JSON body is valid against the documented schema (OpenAPI 3.0 dialect).
 */
public final class ApiContract {

  private static final String DOCUMENT = "https://plaza.test/openapi.json";
  private static final ApiContract INSTANCE = load();

  private record Operation(String template, Pattern pattern, int literalSegments) {}

  private final JsonNode document;
  private final List<Operation> operations;
  private final SchemaRegistry registry;
  private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

  private ApiContract(JsonNode document) {
    this.document = document;
    var ops = new ArrayList<Operation>();
    document.path("paths").fieldNames().forEachRemaining(template -> {
      var regex = Pattern.quote(template).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q");
      int literals = (int) java.util.Arrays.stream(template.split("/")).filter(s -> !s.startsWith("{")).count();
      ops.add(new Operation(template, Pattern.compile("^" + regex + "$"), literals));
    });
    // The most literal template first: /v1/transfers/{id}/post before /v1/transfers/{id}/{anything}.
    ops.sort(Comparator.comparingInt(Operation::literalSegments).reversed());
    this.operations = List.copyOf(ops);
    var json = closed(document.deepCopy()).toString();
    this.registry = SchemaRegistry.withDefaultDialect(Dialects.getOpenApi30(),
        builder -> builder.schemas(Map.of(DOCUMENT, json)));
  }

  /**
   * Every object schema that lists its properties and says nothing about others is checked as closed: a member the
   * code sends and the document does not name is drift too (the document itself stays open for clients).
   */
  private static JsonNode closed(JsonNode node) {
    if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode object) {
      if (object.has("properties") && object.path("properties").isObject() && !object.has("additionalProperties")
          && "object".equals(object.path("type").asText())) {
        object.put("additionalProperties", false);
      }
      object.elements().forEachRemaining(ApiContract::closed);
    } else if (node.isArray()) {
      node.elements().forEachRemaining(ApiContract::closed);
    }
    return node;
  }

  private static ApiContract load() {
    try (InputStream in = ApiContract.class.getClassLoader().getResourceAsStream("openapi.yaml")) {
      return new ApiContract(new ObjectMapper(new YAMLFactory()).readTree(in));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read openapi.yaml", e);
    }
  }

  public static ApiContract get() {
    return INSTANCE;
  }

  /** What in this response the contract does not allow; empty when it conforms. */
  public List<String> violations(String method, String pathAndQuery, int status, String contentType, String body) {
    var path = pathAndQuery.split("\\?", 2)[0];
    var mediaType = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    var problem = mediaType.equals("application/problem+json");
    var operation = operations.stream().filter(o -> o.pattern().matcher(path).matches())
        .filter(o -> document.path("paths").path(o.template()).has(method.toLowerCase(Locale.ROOT)))
        .findFirst();
    String pointer;
    if (operation.isEmpty() || !documented(operation.get(), method, status)) {
      // Any request may be refused with a problem: unknown paths, methods, limits, auth, overload.
      if (problem) {
        pointer = "/components/schemas/Problem";
      } else {
        return List.of(method + " " + path + " answered " + status + " (" + mediaType + "), which "
            + (operation.isEmpty() ? "no documented operation matches" : "its operation does not document"));
      }
    } else {
      var response = response(operation.get(), method, status);
      var content = response.path("content");
      if (content.isMissingNode() || content.isEmpty()) {
        return body == null || body.isEmpty() ? List.of()
            : List.of(method + " " + path + " " + status + " documents no body but has one: " + abbreviate(body));
      }
      if (!content.has(mediaType)) {
        return List.of(method + " " + path + " " + status + " answered " + mediaType + "; documented: "
            + iterable(content.fieldNames()));
      }
      if (!mediaType.endsWith("json")) return List.of();
      var schemaNode = content.path(mediaType).path("schema");
      if (schemaNode.isMissingNode()) return List.of();
      pointer = pointerOf(operation.get(), method, status, mediaType);
    }
    var schema = schemas.computeIfAbsent(pointer, p -> registry.getSchema(SchemaLocation.of(DOCUMENT + "#" + p)));
    var errors = schema.validate(body == null || body.isEmpty() ? "null" : body, InputFormat.JSON);
    return errors.stream().map(e -> method + " " + path + " " + status + ": " + e.getInstanceLocation() + " "
        + e.getMessage() + " in " + abbreviate(body)).toList();
  }

  private boolean documented(Operation operation, String method, int status) {
    var responses = document.path("paths").path(operation.template()).path(method.toLowerCase(Locale.ROOT))
        .path("responses");
    return responses.has(String.valueOf(status)) || responses.has(status / 100 + "XX") || responses.has("default");
  }

  private String responseKey(Operation operation, String method, int status) {
    var responses = document.path("paths").path(operation.template()).path(method.toLowerCase(Locale.ROOT))
        .path("responses");
    for (var key : List.of(String.valueOf(status), status / 100 + "XX", "default")) {
      if (responses.has(key)) return key;
    }
    throw new IllegalStateException("not documented");
  }

  private JsonNode response(Operation operation, String method, int status) {
    var node = document.path("paths").path(operation.template()).path(method.toLowerCase(Locale.ROOT))
        .path("responses").path(responseKey(operation, method, status));
    return node.has("$ref") ? document.at(node.get("$ref").asText().substring(1)) : node;
  }

  /** The JSON pointer to the response's schema, through a shared response's $ref if it has one. */
  private String pointerOf(Operation operation, String method, int status, String mediaType) {
    var base = "/paths/" + escape(operation.template()) + "/" + method.toLowerCase(Locale.ROOT) + "/responses/"
        + escape(responseKey(operation, method, status));
    var node = document.at(base);
    if (node.has("$ref")) base = node.get("$ref").asText().substring(1);
    return base + "/content/" + escape(mediaType) + "/schema";
  }

  private static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }

  private static String iterable(java.util.Iterator<String> names) {
    var list = new ArrayList<String>();
    names.forEachRemaining(list::add);
    return list.toString();
  }

  private static String abbreviate(String body) {
    return body == null ? "" : body.length() > 300 ? body.substring(0, 300) + "…" : body;
  }
}
