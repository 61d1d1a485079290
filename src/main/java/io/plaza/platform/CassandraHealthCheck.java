package io.plaza.platform;

import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;

/** Readiness check (Pekko Management): the node is ready only while Cassandra answers a trivial query. */
public final class CassandraHealthCheck implements Supplier<CompletionStage<Boolean>> {

  private static final SimpleStatement PING =
      SimpleStatement.newInstance("SELECT release_version FROM system.local").setTimeout(Duration.ofSeconds(2));

  private final ActorSystem system;

  public CassandraHealthCheck(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return Cassandra.session(system).selectOne(PING)
        .thenApply(row -> row.isPresent())
        .exceptionally(e -> false);
  }
}
