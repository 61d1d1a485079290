package io.plaza.dispatch;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * The public contract of topic `plaza.dispatch.rides` (projections/dispatch-rides-kafka.md): every status change of a
 * ride, keyed by ride id. Versioned apart from the journal events; fields are only ever added.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RideMessage(
    int schemaVersion,
    String type,
    String rideId,
    long sequenceNr,
    Instant occurredAt,
    String status,
    String riderId,
    String driverId,
    String vehicleType,
    GeoPoint pickup,
    GeoPoint dropoff,
    Double surge,
    Long fareCents,
    String cancelledBy) {

  public static final int SCHEMA_VERSION = 1;

  /** The message of a ride event, or null for events that change nothing outside (a driver release). */
  public static RideMessage of(Ride.Event event, long sequenceNr) {
    var write = TripsProjectionHandler.writeFor(event, sequenceNr);
    if (write == null) return null;
    var type = event.getClass().getSimpleName();
    if (write instanceof TripsRepository.RideRequested r) {
      return new RideMessage(SCHEMA_VERSION, type, r.rideId(), sequenceNr, r.at(), Ride.Status.REQUESTED.wire(),
          r.riderId(), null, r.vehicleType(), r.pickup(), r.dropoff(), r.surge(), r.fareCents(), null);
    }
    var c = (TripsRepository.StatusChanged) write;
    // Offers name their driver too (the trips history does not): consumers see who was offered when.
    var driver = event instanceof Ride.Offered o ? o.driverId() : event instanceof Ride.OfferDeclined d ? d.driverId()
        : event instanceof Ride.OfferExpired x ? x.driverId() : c.driverId();
    return new RideMessage(SCHEMA_VERSION, type, c.rideId(), sequenceNr, c.at(), c.status(), null, driver, null, null,
        null, null, event instanceof Ride.TripCompleted t ? t.fareCents() : null, c.cancelledBy());
  }
}
