package io.plaza.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import io.plaza.chat.ChatSession;
import io.plaza.chat.Conversation;
import io.plaza.dispatch.DispatchCell;
import io.plaza.dispatch.Driver;
import io.plaza.dispatch.Ride;
import io.plaza.ledger.LedgerAccount;
import io.plaza.ledger.Transfer;
import io.plaza.ledger.TransferBatch;
import io.plaza.timeline.UserTimeline;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What must never change between two versions that run side by side in a rolling update, or that read one journal:
 * a change here is not a refactoring but a migration (README "Running a cluster"). Nodes of two versions that disagree
 * on the number of shards or an entity type name route the same id to different shards (two live copies of one
 * entity); a projection whose tags change stops seeing the events already written under the old ones.
 */
class RollingUpdateInvariantsTest {

  @Test
  void theNumberOfShardsIsFixed() {
    var config = ConfigFactory.load();
    assertEquals(100, config.getInt("pekko.cluster.sharding.number-of-shards"));
  }

  @Test
  void entityTypeNamesAreFixed() {
    assertEquals(List.of("ChatSession", "Conversation", "DispatchCell", "Driver", "Ride", "LedgerAccount", "Transfer",
            "TransferBatch", "UserTimeline"),
        List.of(ChatSession.ENTITY_KEY.name(), Conversation.ENTITY_KEY.name(), DispatchCell.ENTITY_KEY.name(),
            Driver.ENTITY_KEY.name(), Ride.ENTITY_KEY.name(), LedgerAccount.ENTITY_KEY.name(),
            Transfer.ENTITY_KEY.name(), TransferBatch.ENTITY_KEY.name(), UserTimeline.ENTITY_KEY.name()));
  }

  @Test
  void eightProjectionTagsPerEntityTypeAndTheTagOfAnIdAreFixed() {
    assertTags("chat-conversation-", Conversation.TAGS, Conversation::tagFor);
    assertTags("ledger-account-", LedgerAccount.TAGS, LedgerAccount::tagFor);
    assertTags("ledger-transfer-", Transfer.TAGS, Transfer::tagFor);
    assertTags("ledger-batch-", TransferBatch.TAGS, TransferBatch::tagFor);
    assertTags("timeline-user-", UserTimeline.TAGS, UserTimeline::tagFor);
    assertTags("dispatch-ride-", Ride.TAGS, Ride::tagFor);
  }

  /** The tags are prefix-0..7, and an id's tag is its String.hashCode modulo 8 (a Java-specified hash). */
  private static void assertTags(String prefix, List<String> tags, Function<String, String> tagFor) {
    assertEquals(IntStream.range(0, 8).mapToObj(i -> prefix + i).toList(), tags);
    // Pinned: "alice".hashCode() = 92903040 (mod 8 = 0), "9dea5b1c".hashCode() = 2094796678 (mod 8 = 6).
    assertEquals(prefix + "0", tagFor.apply("alice"));
    assertEquals(prefix + "6", tagFor.apply("9dea5b1c"));
  }
}
