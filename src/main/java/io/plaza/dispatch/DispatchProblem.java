package io.plaza.dispatch;

import io.plaza.platform.ProblemCode;

/** Dispatch's refusals a client can act on (problem and error-frame {@code code}s; never renamed: they are API). */
public enum DispatchProblem implements ProblemCode {
  RIDE_NOT_FOUND,
  RIDE_ID_TAKEN,
  /** Accepting or declining a ride that is not (or no longer) offered to this driver. */
  OFFER_EXPIRED,
  /** The ride went to another driver or was cancelled while the driver answered. */
  OFFER_LOST,
  /** The ride is not this driver's current ride. */
  NOT_YOUR_RIDE,
  /** Going offline with a ride assigned or on trip. */
  RIDE_IN_PROGRESS,
  /** A ping before going online. */
  NOT_ONLINE,
  /** The ride can no longer be cancelled, or this step is out of order. */
  RIDE_STATE,
  TRIP_TOO_LONG
}
