package io.plaza.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.plaza.platform.Json;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/** WebSocket clients of the benchmarks: a queue to send frames into, a callback per received frame. */
final class BenchSockets {

  /**
   * Connects to {@code path} as the token's user; {@code onFrame} sees every frame (on a stream thread, keep it
   * short); {@code onClose} runs when the connection ends. Frames sent beyond 10,000 queued are dropped.
   */
  static SourceQueueWithComplete<Message> connect(ActorSystem<?> system, int port, String path, String token,
      Consumer<JsonNode> onFrame, Runnable onClose) throws Exception {
    var materializer = Materializer.matFromSystem(system);
    Sink<Message, ?> sink = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5_000, materializer))
        .to(Sink.foreach(m -> onFrame.accept(Json.MAPPER.readTree(m.getStrictText()))));
    Flow<Message, Message, SourceQueueWithComplete<Message>> flow = Flow.fromSinkAndSourceMat(sink,
        Source.<Message>queue(10_000, OverflowStrategy.dropNew())
            .watchTermination((queue, done) -> {
              done.whenComplete((d, e) -> onClose.run());
              return queue;
            }), Keep.right());
    var request = WebSocketRequest.create("ws://127.0.0.1:" + port + path).addHeader(Authorization.oauth2(token));
    var pair = Http.get(system).singleWebSocketRequest(request, flow, materializer);
    var status = pair.first().toCompletableFuture().get(10, TimeUnit.SECONDS).response().status().intValue();
    if (status != 101) throw new IllegalStateException("WebSocket refused: " + status);
    return pair.second();
  }

  private BenchSockets() {}
}
