package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The served {@code openapi.yaml} (as the build packs it) is valid OpenAPI 3 by a standard parser, and every operation
 * has the name and the group a client generator needs.
 */
class OpenApiDocumentTest {

  private static String yaml;
  private static OpenAPI document;
  private static java.util.List<String> messages;

  @BeforeAll
  static void parse() throws IOException {
    try (InputStream in = OpenApiDocumentTest.class.getClassLoader().getResourceAsStream("openapi.yaml")) {
      assertNotNull(in, "openapi.yaml on the classpath");
      yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    var options = new ParseOptions();
    options.setResolve(true);
    var result = new OpenAPIV3Parser().readContents(yaml, null, options);
    document = result.getOpenAPI();
    messages = result.getMessages() == null ? java.util.List.of() : result.getMessages();
  }

  @Test
  void theParserReportsNoErrorOrWarning() {
    assertNotNull(document, "parsed: " + messages);
    assertEquals(java.util.List.of(), messages, "swagger-parser's errors and warnings");
  }

  @Test
  void everyOperationHasAUniqueOperationIdAndADeclaredTag() {
    var declaredTags = new HashSet<String>();
    document.getTags().forEach(t -> declaredTags.add(t.getName()));
    var ids = new HashSet<String>();
    var problems = new ArrayList<String>();
    document.getPaths().forEach((path, item) -> item.readOperationsMap().forEach((method, op) -> {
      var name = method + " " + path;
      if (op.getOperationId() == null || !op.getOperationId().matches("[a-z][A-Za-z0-9]*")) {
        problems.add(name + ": operationId '" + op.getOperationId() + "' is not a camelCase name");
      } else if (!ids.add(op.getOperationId())) {
        problems.add(name + ": operationId '" + op.getOperationId() + "' is used twice");
      }
      if (op.getTags() == null || op.getTags().size() != 1 || !declaredTags.contains(op.getTags().get(0))) {
        problems.add(name + ": tags " + op.getTags() + " is not one of the declared " + declaredTags);
      }
    }));
    assertTrue(ids.size() > 50, "the document's operations were walked: " + ids.size());
    assertEquals(java.util.List.of(), problems);
  }

  @Test
  void theDocumentedProblemCodesAreExactlyTheCodesTheNodeAnswersWith() {
    var served = new java.util.ArrayList<String>();
    for (Class<? extends Enum<?>> kind : java.util.List.of(ProblemCode.Common.class,
        io.plaza.ledger.LedgerProblem.class, io.plaza.chat.ChatProblem.class, io.plaza.timeline.TimelineProblem.class,
        io.plaza.dispatch.DispatchProblem.class)) {
      for (var constant : kind.getEnumConstants()) served.add(((ProblemCode) constant).code());
    }
    assertEquals(served.size(), new HashSet<>(served).size(), "no code is used by two kinds: " + served);
    var documented = document.getComponents().getSchemas().get("ProblemCode").getEnum().stream()
        .map(Object::toString).toList();
    assertEquals(new java.util.TreeSet<>(served), new java.util.TreeSet<>(documented));
    var problem = document.getComponents().getSchemas().get("Problem");
    assertEquals(java.util.Set.of("type", "title", "status", "detail", "code"), problem.getProperties().keySet());
  }

  @Test
  void theDocumentsVersionIsTheBuildsVersion() {
    var build = ConfigFactory.parseResources("build-version.conf").getString("plaza.build-version");
    assertTrue(build.matches("\\d+\\.\\d+\\.\\d+.*"), "the build's version was filled in: " + build);
    assertEquals(build, document.getInfo().getVersion());
  }
}
