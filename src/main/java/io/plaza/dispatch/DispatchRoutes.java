package io.plaza.dispatch;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.JwtAuth;
import io.plaza.platform.Paging;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import io.plaza.platform.TimeIdCursor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The dispatch REST API: request a ride (with a fare estimate at the pickup cell's surge), read and cancel it, the
 * surge at a position, a driver's status, and the trip histories of riders and drivers. Thin: validate, ask the
 * entity or query the read model, map to DTOs.
 */
public final class DispatchRoutes {

  static final Pattern RIDE_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,64}");
  private static final Pattern CURSOR = Pattern.compile("[A-Za-z0-9_-]{1,200}");
  /** No city ride is longer: a farther dropoff is a client bug. */
  static final double MAX_TRIP_METERS = 200_000;

  public record RideRequest(GeoPoint pickup, GeoPoint dropoff, String vehicleType) {}

  public record RideResponse(String rideId, String riderId, String status, GeoPoint pickup, GeoPoint dropoff,
      String vehicleType, double surge, long fareCents, String driverId, Instant requestedAt, Instant updatedAt,
      String cancelledBy) {

    static RideResponse of(Ride.RideView v) {
      return new RideResponse(v.rideId(), v.riderId(), v.status().wire(), v.pickup(), v.dropoff(), v.vehicleType(),
          v.surge(), v.fareCents(), v.driverId(), v.requestedAt(), v.updatedAt(),
          v.cancelledBy() == null ? null : v.cancelledBy().name().toLowerCase());
    }

    static RideResponse of(TripsRepository.Trip t) {
      return new RideResponse(t.rideId(), t.riderId(), t.status(), t.pickup(), t.dropoff(), t.vehicleType(),
          t.surge(), t.fareCents(), t.driverId(), t.requestedAt(), t.updatedAt(), t.cancelledBy());
    }
  }

  public record TripsPage(List<RideResponse> items, String nextCursor) {}

  public record SurgeResponse(String cell, double multiplier, int requests, int drivers) {}

  /** The cells around a position as a map draws them: corners, surge, available drivers (anonymous, ~10 m). */
  public record NearbyResponse(String center, List<NearbyCell> cells) {}

  public record NearbyCell(String cell, int ring, List<GeoPoint> boundary, double surge, int requests,
      List<DispatchCell.Nearby> drivers) {}

  /** A map shows at most this many rings around its center (3 at resolution 8: 37 cells, about 2.7 km). */
  static final int MAX_NEARBY_RINGS = 3;

  public record DriverResponse(String driverId, String status, String vehicleType, String rideId, Ping lastPing,
      double acceptanceRate) {}

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final H3Cells cells;
  private final Fares fares;
  private final DispatchScorer scorer;
  private final TripsRepository trips;
  private final DriverSocket driverSocket;
  private final RiderSocket riderSocket;
  private final Duration askTimeout;

  public DispatchRoutes(ActorSystem<?> system, H3Cells cells, Fares fares, DispatchScorer scorer,
      TripsRepository trips, DriverSocket driverSocket, RiderSocket riderSocket, Duration askTimeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.cells = cells;
    this.fares = fares;
    this.scorer = scorer;
    this.trips = trips;
    this.driverSocket = driverSocket;
    this.riderSocket = riderSocket;
    this.askTimeout = askTimeout;
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/rides", call -> requestRide(call.userId())),
        Endpoint.get("/v1/rides/{id}", call -> withRide(call, id ->
            askRide(id, r -> new Ride.Get(call.userId(), r), this::ride))),
        Endpoint.post("/v1/rides/{id}/cancel", call -> withRide(call, id ->
            askRide(id, r -> new Ride.Cancel(call.userId(), r), this::ride))),
        Endpoint.get("/v1/dispatch/surge", call -> surge()),
        Endpoint.get("/v1/dispatch/nearby", call -> nearby()),
        Endpoint.get("/v1/drivers/{id}", call -> self(call, "drivers", id -> onSuccess(
            sharding.entityRefFor(Driver.ENTITY_KEY, id).<Driver.Reply>ask(Driver.GetStatus::new, askTimeout),
            reply -> {
              var s = (Driver.DriverStatus) reply;
              return complete(StatusCodes.OK, new DriverResponse(s.driverId(), s.status().name().toLowerCase(),
                  s.vehicleType(), s.rideId(), s.lastPing(), s.acceptanceRate()), Json.marshaller());
            }))),
        Endpoint.get("/v1/drivers/{id}/trips", call -> self(call, "trips", id -> tripsPage(id, trips::driverTrips))),
        Endpoint.get("/v1/riders/{id}/trips", call -> self(call, "trips", id -> tripsPage(id, trips::riderTrips))),
        Endpoint.stream("/v1/dispatch/driver/ws", call -> driverSocket.route(call.userId())),
        Endpoint.stream("/v1/dispatch/rider/ws", call -> riderSocket.route(call.userId())));
  }

  /**
   * 201 with the ride as requested (surge and fare estimate fixed now); matching runs after the answer. With an
   * Idempotency-Key the same rider and key name the same ride: a retry returns it as it is, nothing is requested twice.
   */
  private Route requestRide(String rider) {
    return optionalHeaderValueByName("Idempotency-Key", key -> entity(Json.unmarshaller(RideRequest.class), body -> {
      if (key.isPresent() && !IDEMPOTENCY_KEY.matcher(key.get()).matches()) {
        return Problems.badRequest("Idempotency-Key must be 1-64 printable ASCII characters without spaces");
      }
      var invalid = invalid(body);
      if (invalid != null) return Problems.complete(invalid);
      var rideId = key.map(k -> UUID.nameUUIDFromBytes((rider + "\n" + k).getBytes(StandardCharsets.UTF_8)))
          .orElseGet(UUID::randomUUID).toString();
      return onSuccess(quoteSurge(body.pickup(), true), surge -> {
        double meters = body.pickup().metersTo(body.dropoff());
        double minutes = scorer.eta(body.pickup(), body.dropoff()).toSeconds() / 60.0;
        long fare = fares.estimateCents(meters, minutes, surge.multiplier());
        return askRide(rideId, r -> new Ride.Request(rider, body.pickup(), body.dropoff(), body.vehicleType(),
            surge.multiplier(), fare, r), reply -> respondWithHeader(Location.create("/v1/rides/" + rideId),
                () -> complete(StatusCodes.CREATED, RideResponse.of((Ride.RideView) reply), Json.marshaller())));
      });
    }));
  }

  private static Rejection invalid(RideRequest body) {
    if (body.pickup() == null || body.dropoff() == null) return Rejection.badRequest("pickup and dropoff are required");
    var pickup = GeoPoint.invalid(body.pickup().lat(), body.pickup().lng());
    if (pickup != null) return Rejection.badRequest("pickup: " + pickup);
    var dropoff = GeoPoint.invalid(body.dropoff().lat(), body.dropoff().lng());
    if (dropoff != null) return Rejection.badRequest("dropoff: " + dropoff);
    if (body.vehicleType() == null || !Driver.VEHICLE_TYPES.contains(body.vehicleType())) {
      return Rejection.badRequest("vehicleType must be one of " + new java.util.TreeSet<>(Driver.VEHICLE_TYPES));
    }
    if (body.pickup().metersTo(body.dropoff()) > MAX_TRIP_METERS) {
      return Rejection.unprocessable(DispatchProblem.TRIP_TOO_LONG,
          "dropoff is more than " + (int) (MAX_TRIP_METERS / 1000) + " km from pickup");
    }
    return null;
  }

  private CompletionStage<DispatchCell.Surge> quoteSurge(GeoPoint at, boolean countRequest) {
    return sharding.entityRefFor(DispatchCell.ENTITY_KEY, cells.cellOf(at))
        .<DispatchCell.Surge>ask(r -> new DispatchCell.QuoteSurge(countRequest, r), askTimeout);
  }

  /** `?lat=&lng=`: the surge multiplier of the cell at that position now. */
  private Route surge() {
    return parameterOptional("lat", lat -> parameterOptional("lng", lng -> {
      Double la = parse(lat.orElse(null));
      Double ln = parse(lng.orElse(null));
      var invalid = GeoPoint.invalid(la, ln);
      if (invalid != null) return Problems.badRequest(invalid + " (query parameters lat and lng, in degrees)");
      var point = new GeoPoint(la, ln);
      return onSuccess(quoteSurge(point, false), s -> complete(StatusCodes.OK,
          new SurgeResponse(cells.cellOf(point), s.multiplier(), s.requests(), s.drivers()), Json.marshaller()));
    }));
  }

  /**
   * `?lat=&lng=&rings=`: the cells within {@code rings} (0-3, default 1) of the position's cell, each with its surge
   * and its available drivers, whose positions are rounded to about 10 m and carry no id (what a rider's app shows).
   * A cell that does not answer in time is shown without drivers.
   */
  private Route nearby() {
    return parameterOptional("lat", lat -> parameterOptional("lng", lng -> parameterOptional("rings", rings -> {
      Double la = parse(lat.orElse(null));
      Double ln = parse(lng.orElse(null));
      var invalid = GeoPoint.invalid(la, ln);
      if (invalid != null) return Problems.badRequest(invalid + " (query parameters lat and lng, in degrees)");
      int ringCount = 1;
      if (rings.isPresent()) {
        if (!rings.get().matches("[0-9]")) return Problems.badRequest("rings must be 0 to " + MAX_NEARBY_RINGS);
        ringCount = Integer.parseInt(rings.get());
        if (ringCount > MAX_NEARBY_RINGS) return Problems.badRequest("rings must be 0 to " + MAX_NEARBY_RINGS);
      }
      var center = cells.cellOf(new GeoPoint(la, ln));
      var looks = new java.util.ArrayList<CompletionStage<NearbyCell>>();
      for (int k = 0; k <= ringCount; k++) {
        int ring = k;
        for (var cell : cells.ring(center, k)) {
          looks.add(sharding.entityRefFor(DispatchCell.ENTITY_KEY, cell)
              .<DispatchCell.View>ask(DispatchCell.Look::new, askTimeout.dividedBy(2))
              .exceptionally(e -> new DispatchCell.View(List.of(), new DispatchCell.Surge(1.0, 0, 0)))
              .thenApply(view -> new NearbyCell(cell, ring, cells.boundary(cell), view.surge().multiplier(),
                  view.surge().requests(), view.drivers().stream().map(d -> new DispatchCell.Nearby(d.vehicleType(),
                      new GeoPoint(round(d.location().lat()), round(d.location().lng())))).toList())));
        }
      }
      var all = java.util.concurrent.CompletableFuture.allOf(looks.stream().map(CompletionStage::toCompletableFuture)
          .toArray(java.util.concurrent.CompletableFuture[]::new))
          .thenApply(v -> looks.stream().map(l -> l.toCompletableFuture().join()).toList());
      return onSuccess(all, list -> complete(StatusCodes.OK, new NearbyResponse(center, list), Json.marshaller()));
    })));
  }

  /** About 10 m: close enough to see cars move, not enough to find a driver's door. */
  private static double round(double degrees) {
    return Math.round(degrees * 10_000) / 10_000.0;
  }

  private static Double parse(String number) {
    if (number == null || number.length() > 32) return null;
    try {
      return Double.valueOf(number);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private Route ride(Ride.Reply reply) {
    return complete(StatusCodes.OK, RideResponse.of((Ride.RideView) reply), Json.marshaller());
  }

  /** A page of trips, newest first; the cursor is opaque (time and ride id of the last trip returned). */
  private Route tripsPage(String user, TripsQuery query) {
    return Paging.params("cursor", CURSOR, "an opaque cursor", (cursorText, limit) -> {
      var cursor = cursorText == null ? null : TimeIdCursor.decode(cursorText, id -> RIDE_ID.matcher(id).matches());
      if (cursorText != null && cursor == null) {
        return Problems.badRequest("cursor must be the nextCursor of a previous page");
      }
      return onSuccess(query.page(user, cursor, limit), page -> complete(StatusCodes.OK, new TripsPage(
          page.trips().stream().map(RideResponse::of).toList(), page.next() == null ? null : page.next().encode()),
          Json.marshaller()));
    });
  }

  interface TripsQuery {
    CompletionStage<TripsRepository.TripPage> page(String user, TimeIdCursor cursor, int limit);
  }

  /** Only the caller's own {@code what}: another user's id is 403. */
  private static Route self(Endpoint.Call call, String what, Function<String, Route> inner) {
    var id = call.param("id");
    if (!JwtAuth.USER_ID.matcher(id).matches()) {
      return Problems.complete(Rejection.notFound("'" + abbreviate(id) + "' is not a user id"));
    }
    if (!id.equals(call.userId())) return Problems.complete(Rejection.forbidden("you may only read your own " + what));
    return inner.apply(id);
  }

  private static Route withRide(Endpoint.Call call, Function<String, Route> inner) {
    var id = call.param("id");
    if (!RIDE_ID.matcher(id).matches()) {
      return Problems.complete(Rejection.notFound(DispatchProblem.RIDE_NOT_FOUND,
          "'" + abbreviate(id) + "' is not a ride id"));
    }
    return inner.apply(id);
  }

  private Route askRide(String rideId, Function<ActorRef<Ride.Reply>, Ride.Command> command,
      Function<Ride.Reply, Route> onSuccess) {
    return onSuccess(sharding.entityRefFor(Ride.ENTITY_KEY, rideId).<Ride.Reply>ask(command::apply, askTimeout),
        reply -> reply instanceof Ride.Rejected r ? Problems.complete(r.rejection()) : onSuccess.apply(reply));
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
