package io.plaza.platform;

import com.typesafe.config.Config;
import java.util.UUID;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.cassandra.journal.CassandraJournal;
import org.apache.pekko.persistence.journal.Tagged;

/**
 * The Cassandra journal with a late tag write made on purpose: an event {@link TaggedProjectionsIT.Noted} whose text
 * starts {@code "late <ms>:"} gets a time-based UUID that many milliseconds in the past, so its `tag_views` row
 * appears that long after its time, as a write stuck behind a slow one would.
 */
public final class BackdatingCassandraJournal extends CassandraJournal {

  public BackdatingCassandraJournal(Config config, String configPath) {
    super(config, configPath);
  }

  @Override
  public UUID generateUUID(PersistentRepr repr) {
    var uuid = super.generateUUID(repr);
    var payload = repr.payload() instanceof Tagged tagged ? tagged.payload() : repr.payload();
    if (!(payload instanceof TaggedProjectionsIT.Noted noted) || !noted.text().startsWith("late ")) return uuid;
    long millis = Long.parseLong(noted.text().substring(5, noted.text().indexOf(':')));
    return backdated(uuid, millis);
  }

  /** A version-1 UUID {@code millis} earlier than {@code uuid}, same clock sequence and node. */
  static UUID backdated(UUID uuid, long millis) {
    long time = uuid.timestamp() - millis * 10_000; // 100 ns units
    long msb = ((time & 0xFFFF_FFFFL) << 32) | (((time >>> 32) & 0xFFFFL) << 16) | 0x1000L | ((time >>> 48) & 0x0FFFL);
    return new UUID(msb, uuid.getLeastSignificantBits());
  }
}
