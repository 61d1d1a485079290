package io.plaza.dispatch;

import io.plaza.platform.TimeIdCursor;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The `trips` read model (projections/trips.cql): each ride's latest state and the trip histories. */
public interface TripsRepository {

  /** A ride as the history shows it; {@code driverId} null until a driver accepted. */
  record Trip(String rideId, String riderId, String driverId, String status, String vehicleType, GeoPoint pickup,
      GeoPoint dropoff, double surge, long fareCents, Instant requestedAt, Instant updatedAt, String cancelledBy) {}

  /** A change from one ride event; {@code version} is its sequence number (the write timestamp). */
  sealed interface Write {
    String rideId();

    long version();
  }

  record RideRequested(String rideId, String riderId, String vehicleType, GeoPoint pickup, GeoPoint dropoff,
      double surge, long fareCents, Instant at, long version) implements Write {}

  /** The ride's status changed; {@code driverId} non-null when a driver was assigned by this event. */
  record StatusChanged(String rideId, String status, String driverId, String cancelledBy, Instant at, long version)
      implements Write {}

  /** One page, newest first, and the cursor of the next (null at the end). */
  record TripPage(List<Trip> trips, TimeIdCursor next) {}

  CompletionStage<Done> apply(List<Write> writes);

  /** A page of the rider's (or driver's) trips after {@code cursor} (null: the newest), newest first. */
  CompletionStage<TripPage> riderTrips(String riderId, TimeIdCursor cursor, int limit);

  CompletionStage<TripPage> driverTrips(String driverId, TimeIdCursor cursor, int limit);
}
