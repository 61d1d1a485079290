package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A contract document of the build (openapi.yaml, asyncapi.yaml, as packed, version filled in) whose schemas check
 * what the tests receive. Object schemas that list their properties are checked closed: a member the code sends and
 * the document does not name is drift too (the served document stays open for clients).
 */
final class SchemaDocument {

  private final String uri;
  private final JsonNode document;
  private final SchemaRegistry registry;
  private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

  SchemaDocument(String resource, Dialect dialect) {
    try (InputStream in = SchemaDocument.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException(resource + " is not on the classpath");
      this.document = new ObjectMapper(new YAMLFactory()).readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
    this.uri = "https://plaza.test/" + resource + ".json";
    var closed = closed(document.deepCopy()).toString();
    this.registry = SchemaRegistry.withDefaultDialect(dialect, builder -> builder.schemas(Map.of(uri, closed)));
  }

  JsonNode document() {
    return document;
  }

  /** The document's node at a {@code #/...} reference. */
  JsonNode at(String ref) {
    return document.at(ref.startsWith("#") ? ref.substring(1) : ref);
  }

  /** What in {@code json} the schema at {@code pointer} does not allow, each as "location message". */
  List<String> violations(String pointer, String json) {
    var schema = schemas.computeIfAbsent(pointer, p -> registry.getSchema(SchemaLocation.of(uri + "#" + p)));
    return schema.validate(json == null || json.isEmpty() ? "null" : json, InputFormat.JSON).stream()
        .map(e -> e.getInstanceLocation() + " " + e.getMessage()).toList();
  }

  static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }

  static String abbreviate(String body) {
    return body == null ? "" : body.length() > 300 ? body.substring(0, 300) + "…" : body;
  }

  private static JsonNode closed(JsonNode node) {
    if (node instanceof ObjectNode object) {
      if (object.path("properties").isObject() && !object.has("additionalProperties")
          && "object".equals(object.path("type").asText())) {
        object.put("additionalProperties", false);
      }
      object.elements().forEachRemaining(SchemaDocument::closed);
    } else if (node.isArray()) {
      node.elements().forEachRemaining(SchemaDocument::closed);
    }
    return node;
  }
}
