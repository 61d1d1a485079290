package io.plaza.dispatch;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A WebSocket frame of `/v1/dispatch/driver/ws` and `/v1/dispatch/rider/ws`, both ways, as JSON (documented in
 * openapi.yaml). Driver in: online, offline, ping, accept, decline, arrived, started, completed, cancel. Driver out:
 * status, offer, offer_ended, ride (a ride's new status), error. Rider out: ride, error.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DispatchFrame(
    String type,
    String rideId,
    String vehicleType,
    Double lat,
    Double lng,
    Double heading,
    Double speed,
    Instant at,
    GeoPoint pickup,
    GeoPoint dropoff,
    Long fareCents,
    Double surge,
    Instant deadline,
    String status,
    String driverId,
    String reason,
    String code,
    String detail) {

  /**
   * An error, the same shape on every socket: {@code code} is the problem code a REST answer would carry (by the
   * status it would have when the refusal names none), {@code detail} says why; the socket stays open.
   */
  static DispatchFrame error(int status, String detail, String rideId) {
    return error(io.plaza.platform.ProblemCode.Common.forStatus(status), detail, rideId);
  }

  static DispatchFrame error(io.plaza.platform.ProblemCode code, String detail, String rideId) {
    return error(code.code(), detail, rideId);
  }

  static DispatchFrame error(io.plaza.platform.Rejection rejection, String rideId) {
    return error(rejection.code(), rejection.detail(), rideId);
  }

  private static DispatchFrame error(String code, String detail, String rideId) {
    return new DispatchFrame("error", rideId, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, code, io.plaza.platform.StorableValues.printable(detail));
  }

  static DispatchFrame status(String status, String vehicleType, String rideId) {
    return new DispatchFrame("status", rideId, vehicleType, null, null, null, null, null, null, null, null, null, null,
        status, null, null, null, null);
  }

  static DispatchFrame offer(Driver.OpenOffer offer) {
    return new DispatchFrame("offer", offer.rideId(), null, null, null, null, null, null, offer.pickup(),
        offer.dropoff(), offer.fareCents(), null, offer.deadline(), null, null, null, null, null);
  }

  static DispatchFrame offerEnded(String rideId, String reason) {
    return new DispatchFrame("offer_ended", rideId, null, null, null, null, null, null, null, null, null, null, null,
        null, null, reason, null, null);
  }

  /** A ride's status, pushed to its rider (and its driver when the rider cancels). */
  static DispatchFrame ride(String rideId, String status, String driverId, String reason, Instant at) {
    return new DispatchFrame("ride", rideId, null, null, null, null, null, at, null, null, null, null, null, status,
        driverId, reason, null, null);
  }
}
