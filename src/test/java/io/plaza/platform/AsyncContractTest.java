package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.swagger.v3.parser.OpenAPIV3Parser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The AsyncAPI checker finds drift, and asyncapi.yaml names the same problem codes as openapi.yaml. */
class AsyncContractTest {

  private final AsyncContract contract = AsyncContract.get();

  @Test
  void conformingFramesPassAndDriftedOnesDoNot() {
    var message = """
        {"type":"message","convId":"c1","seq":3,"sender":"ann","clientMsgId":"m-1","body":"hi",
         "at":"2026-12-07T10:00:00Z"}""";
    assertEquals(List.of(), contract.violations("/v1/chat/ws?ticket=abc", message));
    assertTrue(!contract.violations("/v1/chat/ws", message.replace("\"seq\":3", "\"seq\":\"3\"")).isEmpty(),
        "a seq of the wrong type");
    assertTrue(!contract.violations("/v1/chat/ws", message.replace("}", ",\"extra\":1}")).isEmpty(),
        "a member the document does not name");
    assertTrue(!contract.violations("/v1/chat/ws", "{\"type\":\"teleport\"}").isEmpty(), "an unknown type");
    assertTrue(!contract.violations("/v1/chat/ws", "{\"type\":\"send\",\"convId\":\"c\",\"clientMsgId\":\"m\","
        + "\"body\":\"b\"}").isEmpty(), "a frame clients send, not Plaza");
    var error = "{\"type\":\"error\",\"code\":\"offer-expired\",\"detail\":\"no open offer\",\"rideId\":\"r\"}";
    assertEquals(List.of(), contract.violations("/v1/dispatch/driver/ws", error));
    assertTrue(!contract.violations("/v1/dispatch/driver/ws", error.replace("offer-expired", "409")).isEmpty(),
        "an error code that is no ProblemCode");
  }

  @Test
  void kafkaRecordsAreFoundByTheEndOfTheirTopicName() {
    var posted = """
        {"schemaVersion":1,"type":"PostCreated","author":"ann","sequenceNr":4,"occurredAt":"2026-12-07T10:00:00Z",
         "postId":"p1","number":2,"text":"hello","authorFollowers":3}""";
    assertEquals(List.of(), contract.violations("it-run7.plaza.timeline.posts", posted));
    assertTrue(!contract.violations("it-run7.plaza.timeline.posts", posted.replace("PostCreated", "PostLiked"))
        .isEmpty());
    assertTrue(!contract.violations("it-run7.plaza.unknown.topic", posted).isEmpty());
  }

  @Test
  void bothContractsNameTheSameProblemCodes() {
    var openapi = new OpenAPIV3Parser().readContents(resource("openapi.yaml"), null, null).getOpenAPI();
    var rest = openapi.getComponents().getSchemas().get("ProblemCode").getEnum().stream().map(Object::toString)
        .toList();
    var async = new java.util.ArrayList<String>();
    new SchemaDocument("asyncapi.yaml", com.networknt.schema.dialect.Dialects.getDraft7())
        .at("#/components/schemas/ProblemCode/enum").forEach(n -> async.add(n.asText()));
    assertEquals(rest, async);
  }

  private static String resource(String name) {
    try (var in = AsyncContractTest.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }
}
