package io.plaza.chat;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where push notifications for offline members go (APNs/FCM in a real deployment). */
public interface PushSender {

  record Notification(String userId, String conversationId, long seq, String sender, String preview, Instant at) {}

  CompletionStage<Done> send(Notification notification);

  /** The default: a structured log line per notification. */
  final class Logging implements PushSender {
    private static final Logger log = LoggerFactory.getLogger("plaza.push");

    @Override
    public CompletionStage<Done> send(Notification n) {
      log.info("push to {}: {} in {} (seq {})", n.userId(), n.sender(), n.conversationId(), n.seq());
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }
}
