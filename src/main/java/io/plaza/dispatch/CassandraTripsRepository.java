package io.plaza.dispatch;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import io.plaza.platform.Cassandra;
import io.plaza.platform.TimeIdCursor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** `trips` on Cassandra: a page reads the history partition, then the rides it names in one IN query. */
public final class CassandraTripsRepository implements TripsRepository {

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> requestRide;
  private final CompletionStage<PreparedStatement> indexRider;
  private final CompletionStage<PreparedStatement> setStatus;
  private final CompletionStage<PreparedStatement> setDriver;
  private final CompletionStage<PreparedStatement> setCancelledBy;
  private final CompletionStage<PreparedStatement> indexDriver;
  private final CompletionStage<PreparedStatement> riderPage;
  private final CompletionStage<PreparedStatement> riderPageAfter;
  private final CompletionStage<PreparedStatement> driverPage;
  private final CompletionStage<PreparedStatement> driverPageAfter;
  private final CompletionStage<PreparedStatement> selectRides;

  public CassandraTripsRepository(CassandraSession session, String keyspace) {
    this.session = session;
    var k = keyspace + ".";
    requestRide = session.prepare("UPDATE " + k + "rides USING TIMESTAMP ? SET rider_id = ?, vehicle_type = ?, "
        + "pickup_lat = ?, pickup_lng = ?, dropoff_lat = ?, dropoff_lng = ?, surge = ?, fare_cents = ?, "
        + "requested_at = ?, status = 'requested', updated_at = ? WHERE ride_id = ?");
    indexRider = session.prepare("INSERT INTO " + k + "rider_trips (rider_id, requested_at, ride_id) VALUES (?, ?, ?) "
        + "USING TIMESTAMP ?");
    setStatus = session.prepare("UPDATE " + k + "rides USING TIMESTAMP ? SET status = ?, updated_at = ? "
        + "WHERE ride_id = ?");
    setDriver = session.prepare("UPDATE " + k + "rides USING TIMESTAMP ? SET driver_id = ? WHERE ride_id = ?");
    setCancelledBy = session.prepare("UPDATE " + k + "rides USING TIMESTAMP ? SET cancelled_by = ? "
        + "WHERE ride_id = ?");
    indexDriver = session.prepare("INSERT INTO " + k + "driver_trips (driver_id, assigned_at, ride_id) "
        + "VALUES (?, ?, ?) USING TIMESTAMP ?");
    riderPage = session.prepare("SELECT requested_at AS at, ride_id FROM " + k + "rider_trips WHERE rider_id = ? "
        + "LIMIT ?");
    riderPageAfter = session.prepare("SELECT requested_at AS at, ride_id FROM " + k + "rider_trips "
        + "WHERE rider_id = ? AND (requested_at, ride_id) < (?, ?) LIMIT ?");
    driverPage = session.prepare("SELECT assigned_at AS at, ride_id FROM " + k + "driver_trips WHERE driver_id = ? "
        + "LIMIT ?");
    driverPageAfter = session.prepare("SELECT assigned_at AS at, ride_id FROM " + k + "driver_trips "
        + "WHERE driver_id = ? AND (assigned_at, ride_id) < (?, ?) LIMIT ?");
    selectRides = session.prepare("SELECT * FROM " + k + "rides WHERE ride_id IN ?");
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    var statements = new ArrayList<CompletionStage<com.datastax.oss.driver.api.core.cql.BoundStatement>>();
    for (var w : writes) {
      long v = w.version();
      if (w instanceof RideRequested r) {
        statements.add(requestRide.thenApply(ps -> ps.bind(v, r.riderId(), r.vehicleType(), r.pickup().lat(),
            r.pickup().lng(), r.dropoff().lat(), r.dropoff().lng(), r.surge(), r.fareCents(), r.at(), r.at(),
            r.rideId())));
        statements.add(indexRider.thenApply(ps -> ps.bind(r.riderId(), r.at(), r.rideId(), v)));
      } else {
        var c = (StatusChanged) w;
        statements.add(setStatus.thenApply(ps -> ps.bind(v, c.status(), c.at(), c.rideId())));
        if (c.driverId() != null) {
          statements.add(setDriver.thenApply(ps -> ps.bind(v, c.driverId(), c.rideId())));
          statements.add(indexDriver.thenApply(ps -> ps.bind(c.driverId(), c.at(), c.rideId(), v)));
        }
        if (c.cancelledBy() != null) {
          statements.add(setCancelledBy.thenApply(ps -> ps.bind(v, c.cancelledBy(), c.rideId())));
        }
      }
    }
    return Cassandra.writeAll(statements, st -> st.thenCompose(session::executeWrite));
  }

  @Override
  public CompletionStage<TripPage> riderTrips(String riderId, TimeIdCursor cursor, int limit) {
    return page(cursor == null ? riderPage.thenApply(ps -> ps.bind(riderId, limit))
        : riderPageAfter.thenApply(ps -> ps.bind(riderId, cursor.at(), cursor.id(), limit)), limit);
  }

  @Override
  public CompletionStage<TripPage> driverTrips(String driverId, TimeIdCursor cursor, int limit) {
    return page(cursor == null ? driverPage.thenApply(ps -> ps.bind(driverId, limit))
        : driverPageAfter.thenApply(ps -> ps.bind(driverId, cursor.at(), cursor.id(), limit)), limit);
  }

  private CompletionStage<TripPage> page(
      CompletionStage<com.datastax.oss.driver.api.core.cql.BoundStatement> indexQuery, int limit) {
    return indexQuery.thenCompose(session::selectAll).thenCompose(index -> {
      if (index.isEmpty()) return CompletableFuture.completedFuture(new TripPage(List.of(), null));
      var ids = index.stream().map(r -> r.getString("ride_id")).toList();
      return selectRides.thenCompose(ps -> session.selectAll(ps.bind(ids))).thenApply(rows -> {
        var byId = new HashMap<String, Trip>();
        rows.forEach(row -> byId.put(row.getString("ride_id"), trip(row)));
        // In history order; a ride whose row the projection has not written yet is left out of this page.
        var trips = ids.stream().map(byId::get).filter(java.util.Objects::nonNull).toList();
        var last = index.get(index.size() - 1);
        var next = index.size() == limit ? new TimeIdCursor(last.getInstant("at"), last.getString("ride_id")) : null;
        return new TripPage(trips, next);
      });
    });
  }

  private static Trip trip(Row row) {
    return new Trip(row.getString("ride_id"), row.getString("rider_id"), row.getString("driver_id"),
        row.getString("status"), row.getString("vehicle_type"),
        new GeoPoint(row.getDouble("pickup_lat"), row.getDouble("pickup_lng")),
        new GeoPoint(row.getDouble("dropoff_lat"), row.getDouble("dropoff_lng")), row.getDouble("surge"),
        row.getLong("fare_cents"), row.getInstant("requested_at"), row.getInstant("updated_at"),
        row.getString("cancelled_by"));
  }
}
