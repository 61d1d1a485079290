package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * What an integration test with real clients starts: one Plaza node (TestNodes), a REST client on it, and a local
 * actor system for the test's WebSocket clients. Closing it stops both systems.
 */
public final class NodeUnderTest implements AutoCloseable {

  public final PlazaNode node;
  public final ApiClient api;
  public final ActorSystem<Void> clients;

  private NodeUnderTest(PlazaNode node, ActorSystem<Void> clients) {
    this.node = node;
    this.api = new ApiClient(node.httpPort());
    this.clients = clients;
  }

  /** {@code name}: the client system's name, to tell the tests' logs apart. */
  public static NodeUnderTest start(String name) {
    var node = TestNodes.start();
    return new NodeUnderTest(node, ActorSystem.create(Behaviors.empty(), name,
        com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local")));
  }

  /** A WebSocket on {@code path} with {@code token} (may be null), upgraded. */
  public WsClient socket(String path, String token) {
    var client = new WsClient(clients, node.httpPort(), path, token);
    assertEquals(101, client.upgradeStatus);
    return client;
  }

  @Override
  public void close() {
    clients.terminate();
    node.close();
  }
}
