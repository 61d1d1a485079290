package io.plaza.chat;

import static io.plaza.platform.ItSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.plaza.platform.ApiClient;
import io.plaza.platform.TestNodes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A new ActorSystem on the same keyspace keeps the history, the seqs and the dedup of client message ids. */
class ChatRecoveryIT {

  @Test
  void historySeqsAndDedupSurviveARestart() {
    String id;
    try (var first = TestNodes.start()) {
      var api = new ApiClient(first.httpPort());
      var dana = api.token("dana");
      id = api.post("/v1/conversations", dana, "{\"kind\":\"group\",\"members\":[\"eve\"]}", Map.of())
          .json().get("conversationId").asText();
      for (int i = 1; i <= 3; i++) {
        assertEquals(201, post(api, dana, id, "d-" + i).status());
      }
    }
    try (var second = TestNodes.start()) {
      var api = new ApiClient(second.httpPort());
      var dana = api.token("dana");
      var retry = post(api, dana, id, "d-2");
      assertEquals(200, retry.status(), retry.toString());
      assertEquals(2, retry.json().get("seq").asLong());
      assertEquals(4, post(api, dana, id, "d-4").json().get("seq").asLong());
      eventually(Duration.ofSeconds(20), () -> {
        var page = api.get("/v1/conversations/" + id + "/messages", api.token("eve"));
        assertEquals(200, page.status(), page.toString());
        assertEquals(List.of("4", "3", "2", "1"), page.json().get("messages").findValuesAsText("seq"),
            page.toString());
        return page;
      });
    }
  }

  private static ApiClient.Response post(ApiClient api, String token, String id, String clientMsgId) {
    return api.post("/v1/conversations/" + id + "/messages", token,
        "{\"clientMsgId\":\"" + clientMsgId + "\",\"body\":\"note " + clientMsgId + "\"}", Map.of());
  }
}
