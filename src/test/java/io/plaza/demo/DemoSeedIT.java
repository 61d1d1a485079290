package io.plaza.demo;

import static io.plaza.platform.ItSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.plaza.platform.NodeUnderTest;
import java.time.Duration;
import java.util.HashSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** `bin/plaza demo` against a real node: the world it seeds, and a second run that changes nothing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DemoSeedIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private NodeUnderTest it;

  @BeforeAll
  void start() {
    it = NodeUnderTest.start("demo-seed-it");
  }

  @AfterAll
  void stop() {
    if (it != null) it.close();
  }

  @Test
  void seedsWalletsChatsFollowsAndPostsAndASecondRunChangesNothing() throws Exception {
    var base = "http://127.0.0.1:" + it.node.httpPort();
    var first = new DemoSeed(base).run();
    var second = new DemoSeed(base).run();
    assertEquals(first, second, "the same accounts the second time");
    assertEquals(DemoSeed.USERS.size(), new HashSet<>(first.values()).size(), "one account per user");

    var api = it.api;
    var ana = api.token("ana");
    // Ana paid Ben 5.00 and Lena paid Ana 16.00, once each although the seed ran twice.
    var account = api.get("/v1/accounts/" + first.get("ana"), ana).json();
    assertEquals(DemoSeed.DEPOSIT - 5_00 + 16_00, account.get("balance").asLong(), account.toString());
    // Her account list (a read model) has that one account, with the same balance once it caught up.
    eventually(WAIT, () -> {
      var items = api.get("/v1/accounts", ana).json().get("items");
      assertEquals(1, items.size(), items.toString());
      assertEquals(first.get("ana"), items.get(0).get("accountId").asText());
      assertEquals(DemoSeed.DEPOSIT - 5_00 + 16_00, items.get(0).get("balance").asLong(), items.toString());
      return items;
    });
    // Conversations with history: a direct one with Ben and the group, each message once.
    var conversations = eventually(WAIT, () -> {
      var list = api.get("/v1/conversations", ana).json().get("conversations");
      assertEquals(2, list.size(), list.toString());
      return list;
    });
    for (var c : conversations) {
      int expected = c.path("title").asText().equals(DemoSeed.GROUP_TITLE) ? 3 : 2;
      eventually(WAIT, () -> {
        var messages = api.get("/v1/conversations/" + c.get("conversationId").asText() + "/messages", ana).json();
        assertEquals(expected, messages.get("messages").size(), messages.toString());
        return messages;
      });
    }
    // Ben follows Ana: her post is in his home timeline, once.
    eventually(WAIT, () -> {
      var home = api.get("/v1/timeline/home", api.token("ben")).json().get("items");
      long fromAna = 0;
      for (var item : home) if (item.get("author").asText().equals("ana")) fromAna++;
      assertEquals(1, fromAna, home.toString());
      assertTrue(home.size() >= 2, home.toString());
      return home;
    });
  }
}
