package io.plaza.dispatch;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/** Keeps `trips` up to date from ride events: the ride row, the rider's history, the driver's history. */
public final class TripsProjectionHandler extends Handler<List<EventEnvelope<Ride.Event>>> {

  private final TripsRepository repository;

  public TripsProjectionHandler(TripsRepository repository) {
    this.repository = repository;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<Ride.Event>> envelopes) {
    return repository.apply(envelopes.stream().map(env -> writeFor(env.event(), env.sequenceNr()))
        .filter(java.util.Objects::nonNull).toList());
  }

  static TripsRepository.Write writeFor(Ride.Event event, long v) {
    var id = event.rideId();
    if (event instanceof Ride.Requested e) {
      return new TripsRepository.RideRequested(id, e.riderId(), e.vehicleType(), e.pickup(), e.dropoff(), e.surge(),
          e.fareCents(), e.at(), v);
    }
    if (event instanceof Ride.Offered) return status(id, Ride.Status.OFFERED, null, null, event, v);
    if (event instanceof Ride.OfferDeclined || event instanceof Ride.OfferExpired) {
      return status(id, Ride.Status.REQUESTED, null, null, event, v);
    }
    if (event instanceof Ride.DriverAssigned e) return status(id, Ride.Status.ACCEPTED, e.driverId(), null, event, v);
    if (event instanceof Ride.DriverArrived) return status(id, Ride.Status.ARRIVED, null, null, event, v);
    if (event instanceof Ride.TripStarted) return status(id, Ride.Status.STARTED, null, null, event, v);
    if (event instanceof Ride.TripCompleted) return status(id, Ride.Status.COMPLETED, null, null, event, v);
    if (event instanceof Ride.Cancelled e) return status(id, Ride.Status.CANCELLED, null, e.by().name().toLowerCase(),
        event, v);
    if (event instanceof Ride.NoDriversAvailable) {
      return status(id, Ride.Status.NO_DRIVERS_AVAILABLE, null, null, event, v);
    }
    return null; // DriverReleased: nothing the history shows
  }

  private static TripsRepository.Write status(String rideId, Ride.Status status, String driverId,
      String cancelledBy, Ride.Event event, long v) {
    return new TripsRepository.StatusChanged(rideId, status.wire(), driverId, cancelledBy, event.at(), v);
  }
}
