package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The OpenAPI document served by a node describes exactly the operations that node's route table serves. */
class ApiDocumentationIT {

  @Test
  void everyServedOperationIsDocumentedAndNothingElse() throws Exception {
    try (var node = TestNodes.start()) {
      var served = node.endpoints().stream()
          .map(e -> e.method().name() + " " + e.template())
          .collect(java.util.stream.Collectors.toCollection(TreeSet::new));

      var response = new ApiClient(node.httpPort()).get("/v1/openapi.yaml", null);
      assertEquals(200, response.status());
      var doc = new ObjectMapper(new YAMLFactory()).readTree(response.raw().body());
      var documented = new TreeSet<String>();
      doc.get("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method -> {
        if (Set.of("get", "post", "put", "patch", "delete").contains(method)) {
          documented.add(method.toUpperCase() + " " + path.getKey());
        }
      }));

      assertEquals(documented, served);
    }
  }
}
