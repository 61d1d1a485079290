package io.plaza.ledger;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeout;

import io.plaza.platform.Admins;
import io.plaza.platform.Cassandra;
import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.Problems;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/** Operator endpoints of the ledger: the invariant checker. */
public final class LedgerAdminRoutes {

  private static final Pattern SETTLE = Pattern.compile("[0-9]{1,2}");

  private final ActorSystem<?> system;
  private final Admins admins;
  private final String keyspace;
  private final Duration stuckAfter;

  /** The last report this node produced: {@code plaza_ledger_check_violations} and when it ran, for alerts. */
  private final java.util.concurrent.atomic.AtomicReference<LedgerCheck.Report> last =
      new java.util.concurrent.atomic.AtomicReference<>();

  public LedgerAdminRoutes(ActorSystem<?> system, Admins admins) {
    this.system = system;
    this.admins = admins;
    var metrics = io.plaza.platform.Metrics.get(system);
    metrics.gauge("plaza.ledger.check.violations", "violations found by this node's last ledger check (NaN: none ran)",
        last, l -> l.get() == null ? Double.NaN
            : l.get().checks().stream().mapToInt(c -> c.violations().size()).sum());
    metrics.gauge("plaza.ledger.check.last.run.timestamp.seconds", "when this node last ran the ledger check",
        last, l -> l.get() == null ? Double.NaN : l.get().at().getEpochSecond());
    var config = system.settings().config();
    this.keyspace = config.getString("plaza.cassandra.keyspace");
    this.stuckAfter = config.getDuration("plaza.ledger.transfers.stuck-after");
  }

  public List<Endpoint> endpoints() {
    return List.of(Endpoint.get("/v1/admin/ledger/check", call -> admins.only(call, this::check)));
  }

  /** Always 200 with the report; {@code passed} says whether every invariant holds. */
  private Route check() {
    return parameterOptional("settle", settle -> {
      if (settle.isPresent() && !SETTLE.matcher(settle.get()).matches()) {
        return Problems.badRequest("settle must be a number of seconds from 0 to 99");
      }
      var wait = Duration.ofSeconds(settle.map(Long::parseLong).orElse(0L));
      // Full scans and blocking driver calls: off the default dispatcher.
      var report = CompletableFuture.supplyAsync(() -> new LedgerCheck(system,
              Cassandra.underlying(system, Duration.ofSeconds(10)), keyspace, stuckAfter, Clock.systemUTC()).run(wait),
          system.dispatchers().lookup(DispatcherSelector.blocking()));
      return withRequestTimeout(Duration.ofMinutes(5), () -> onSuccess(report, r -> {
        last.set(r);
        return complete(StatusCodes.OK, r, Json.marshaller());
      }));
    });
  }
}
