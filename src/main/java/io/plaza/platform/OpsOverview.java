package io.plaza.platform;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * {@code GET /v1/ops/overview}, for administrators: the cluster as this node sees it and this node's own figures
 * (projection lag, Kafka consumer lag, HTTP answers, open sockets, CPU and heap) — what the console's Ops view shows.
 * Counters are totals since the node started: a client that polls takes the differences (rates).
 */
public final class OpsOverview {

  public record Member(String address, String status, List<String> roles, String appVersion, boolean reachable,
      boolean self) {}

  /** {@code recentMaxSeconds}: the largest lag of the last two minutes (Micrometer's decaying max). */
  public record ProjectionLag(String projection, long events, double recentMaxSeconds, double meanSeconds) {}

  /** {@code records}: null until the group's consumer fetched from a partition. */
  public record ConsumerLag(String group, Double records) {}

  public record Overview(Instant at, String node, List<Member> members, List<ProjectionLag> projections,
      List<ConsumerLag> consumers, long httpResponses, long httpServerErrors, Map<String, Integer> webSockets,
      Double processCpu, long heapUsedBytes) {}

  private OpsOverview() {}

  public static Endpoint endpoint(ActorSystem<?> system, Admins admins) {
    return Endpoint.get("/v1/ops/overview", call -> admins.only(call,
        () -> complete(StatusCodes.OK, of(system), Json.marshaller())));
  }

  /**
   * The cluster as this node sees it, read at each scrape: {@code plaza_cluster_members{status}} (up, joining,
   * leaving, ...) and {@code plaza_cluster_unreachable_members}, for alerts on a member the others cannot reach.
   */
  static void registerClusterGauges(ActorSystem<?> system) {
    var cluster = Cluster.get(system);
    var metrics = Metrics.get(system);
    for (var status : List.of("Joining", "WeaklyUp", "Up", "Leaving", "Exiting", "Down")) {
      metrics.gauge("plaza.cluster.members", "cluster members this node sees, by status", cluster,
          c -> java.util.stream.StreamSupport.stream(c.state().getMembers().spliterator(), false)
              .filter(m -> m.status().toString().equals(status)).count(), "status", status.toLowerCase());
    }
    metrics.gauge("plaza.cluster.unreachable.members", "members this node's failure detector cannot reach", cluster,
        c -> c.state().getUnreachable().size());
  }

  static Overview of(ActorSystem<?> system) {
    var cluster = Cluster.get(system);
    var state = cluster.state();
    var self = cluster.selfMember();
    var unreachable = new java.util.HashSet<org.apache.pekko.cluster.Member>();
    state.getUnreachable().forEach(unreachable::add);
    var members = new ArrayList<Member>();
    state.getMembers().forEach(m -> members.add(new Member(m.address().toString(), m.status().toString(),
        new ArrayList<>(m.getRoles()).stream().filter(r -> !r.startsWith("dc-")).sorted().toList(),
        m.appVersion().toString(), !unreachable.contains(m), m.equals(self))));
    MeterRegistry registry = Metrics.get(system).registry();
    var projections = registry.find("plaza.projection.lag").timers().stream()
        .map(t -> new ProjectionLag(t.getId().getTag("projection"), t.count(), t.max(TimeUnit.MILLISECONDS) / 1000.0,
            t.mean(TimeUnit.MILLISECONDS) / 1000.0))
        .sorted(java.util.Comparator.comparing(ProjectionLag::projection)).toList();
    var consumers = registry.find("plaza.kafka.consumer.lag").gauges().stream()
        .map(g -> new ConsumerLag(g.getId().getTag("group"), number(g.value())))
        .sorted(java.util.Comparator.comparing(ConsumerLag::group)).toList();
    long responses = 0;
    long serverErrors = 0;
    for (var c : registry.find("plaza.http.responses").counters()) {
      responses += (long) c.count();
      var status = c.getId().getTag("status");
      if (status != null && status.startsWith("5")) serverErrors += (long) c.count();
    }
    var sockets = new TreeMap<String, Integer>();
    registry.find("plaza.websocket.connections").gauges()
        .forEach(g -> sockets.put(g.getId().getTag("endpoint"), (int) g.value()));
    var cpu = registry.find("process.cpu.usage").gauge();
    double heap = registry.find("jvm.memory.used").tag("area", "heap").gauges().stream()
        .mapToDouble(io.micrometer.core.instrument.Gauge::value).sum();
    return new Overview(Instant.now(), self.address().toString(), members, projections, consumers, responses,
        serverErrors, sockets, cpu == null ? null : number(cpu.value()), (long) heap);
  }

  /** JSON has no NaN: an unknown figure is null. */
  private static Double number(double value) {
    return Double.isNaN(value) || Double.isInfinite(value) ? null : value;
  }
}
