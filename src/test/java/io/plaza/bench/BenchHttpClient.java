package io.plaza.bench;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The benchmark's load generator: Pekko HTTP's pooled client in its own ActorSystem, one keep-alive connection per
 * request in flight. (The JDK HttpClient spent more CPU than the server it measured and started ~70 threads.)
 */
final class BenchHttpClient implements AutoCloseable {

  record Response(int status, String body) {}

  private final ActorSystem<Void> system;
  private final Http http;
  private final String base;

  BenchHttpClient(String base, int connections) {
    this.base = base;
    system = ActorSystem.create(Behaviors.empty(), "bench-client", ConfigFactory.parseString("""
        pekko.http.host-connection-pool.max-connections = %d
        pekko.http.host-connection-pool.max-open-requests = %d
        pekko.actor.default-dispatcher.fork-join-executor.parallelism-max = 2
        pekko.loglevel = WARNING
        pekko.actor.provider = local
        """.formatted(connections, Integer.highestOneBit(connections * 4 - 1) << 1))
        .withFallback(ConfigFactory.load()));
    http = Http.get(system);
  }

  /** For WebSocket clients on the same system. */
  ActorSystem<Void> system() {
    return system;
  }

  CompletionStage<Response> post(String path, String token, String json, String idempotencyKey) {
    var request = HttpRequest.POST(base + path).withEntity(ContentTypes.APPLICATION_JSON, json)
        .addHeader(RawHeader.create("Authorization", "Bearer " + token));
    if (idempotencyKey != null) request = request.addHeader(RawHeader.create("Idempotency-Key", idempotencyKey));
    return send(request);
  }

  CompletionStage<Response> get(String path, String token) {
    return send(HttpRequest.GET(base + path).addHeader(RawHeader.create("Authorization", "Bearer " + token)));
  }

  private CompletionStage<Response> send(HttpRequest request) {
    return http.singleRequest(request).thenCompose(response -> response.entity().toStrict(10_000, system)
        .thenApply(strict -> new Response(response.status().intValue(), strict.getData().utf8String())));
  }

  @Override
  public void close() {
    system.terminate();
  }
}
