package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/** A real WebSocket client (Pekko HTTP) for the ITs: sends frames, collects every frame it receives. */
public final class WsClient implements AutoCloseable {

  private final BlockingDeque<JsonNode> received = new LinkedBlockingDeque<>();
  /** What the frames received broke of asyncapi.yaml: checked (and failed on) at every await and drain. */
  private final java.util.Queue<String> violations = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final SourceQueueWithComplete<Message> out;
  public final int upgradeStatus;

  public WsClient(ActorSystem<?> system, int port, String path, String token) {
    var materializer = Materializer.matFromSystem(system);
    Sink<Message, ?> sink = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5_000, materializer))
        .to(Sink.foreach(m -> {
          violations.addAll(AsyncContract.get().violations(path, m.getStrictText()));
          received.add(Json.MAPPER.readTree(m.getStrictText()));
        }));
    Flow<Message, Message, SourceQueueWithComplete<Message>> flow =
        Flow.fromSinkAndSourceMat(sink, Source.<Message>queue(100, OverflowStrategy.fail()), Keep.right());
    var request = WebSocketRequest.create("ws://127.0.0.1:" + port + path);
    if (token != null) request = request.addHeader(Authorization.oauth2(token));
    var pair = Http.get(system).singleWebSocketRequest(request, flow, materializer);
    out = pair.second();
    try {
      upgradeStatus = pair.first().toCompletableFuture().get(10, TimeUnit.SECONDS).response().status().intValue();
    } catch (Exception e) {
      throw new AssertionError("WebSocket connect failed", e);
    }
  }

  public void send(String json) {
    out.offer(TextMessage.create(json));
  }

  /** The next received frame matching {@code filter} (others received meanwhile are kept in order for later). */
  public JsonNode await(Predicate<JsonNode> filter, Duration within) {
    assertConforming();
    long deadline = System.nanoTime() + within.toNanos();
    var skipped = new ArrayList<JsonNode>();
    try {
      while (System.nanoTime() < deadline) {
        var frame = received.poll(50, TimeUnit.MILLISECONDS);
        if (frame == null) continue;
        if (filter.test(frame)) {
          requeue(skipped);
          return frame;
        }
        skipped.add(frame);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    requeue(skipped);
    throw new AssertionError("no matching frame within " + within + "; received " + received + " " + skipped);
  }

  public JsonNode await(String type, Duration within) {
    return await(f -> type.equals(f.path("type").asText()), within);
  }

  /** Every frame received within {@code during}, then none of them stays queued. */
  public List<JsonNode> drain(Duration during) {
    try {
      Thread.sleep(during.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertConforming();
    var all = new ArrayList<JsonNode>();
    received.drainTo(all);
    return all;
  }

  private void assertConforming() {
    if (!violations.isEmpty()) throw new AssertionError("frames not as asyncapi.yaml says: " + violations);
  }

  /** Puts skipped frames back at the head, in order; frames arriving meanwhile queue up behind them. */
  private void requeue(List<JsonNode> skipped) {
    for (int i = skipped.size() - 1; i >= 0; i--) received.addFirst(skipped.get(i));
  }

  @Override
  public void close() {
    out.complete();
  }
}
