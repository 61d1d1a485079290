package io.plaza.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.asLongAs;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.foreach;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.nothingFor;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.regex;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.substring;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.http.action.ws.WsInboundMessage;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Dispatch: drivers on WebSockets ping at 1 Hz from around one city and take every offer they get (accept, then
 * arrive, start and complete the trip at once), while riders request rides at a fixed rate, each on its rider
 * WebSocket.
 *
 * <p>Measured: {@code request → offer}, from sending {@code POST /v1/rides} to the rider's socket receiving the ride
 * as {@code offered} (the frame's arrival time as Gatling stamped it, so an offer that beats the HTTP answer counts
 * right); the simulation times it itself (Gatling cannot time a frame against an HTTP request) and prints it with
 * the pings sent, refused pings and rides that got no offer. The HTTP request itself is in Gatling's report.
 *
 * <p>Parameters: {@code -Dusers} drivers (200), {@code -Drate} ride requests/s (5), {@code -Dduration} (60 s).
 */
public class DispatchSimulation extends Simulation {

  private static final double LAT = 38.7223;
  private static final double LNG = -9.1393;
  /** Half the side of the box drivers and pickups are in (about ±2 km): every pickup has drivers in reach. */
  private static final double BOX = 0.018;
  private static final Duration OFFER_TIMEOUT = Duration.ofSeconds(10);
  private static final Pattern RIDE_ID = Pattern.compile("\"rideId\":\"([^\"]+)\"");

  private final int drivers = Plaza.users(200);
  private final double rideRate = Plaza.rate(5);

  private static final AtomicLong pings = new AtomicLong();
  private static final AtomicLong refusedPings = new AtomicLong();
  private static final AtomicLong errorFrames = new AtomicLong();
  private static final AtomicLong offersAccepted = new AtomicLong();
  private static final AtomicLong noOffer = new AtomicLong();
  private static final AtomicLong noDrivers = new AtomicLong();
  /** Request → the offer frame on the driver's socket (the first offer of the ride). */
  private static final Plaza.Latencies requestToOffer = new Plaza.Latencies("request → offer");
  /** Request → the rider's socket shows the ride offered (after the ride persisted the offer too). */
  private static final Plaza.Latencies requestToRiderSeesOffer = new Plaza.Latencies("request → rider sees offered");
  /** When each ride was requested, by ride id (derived like the node does from rider and Idempotency-Key). */
  private static final Map<String, Long> requestedAt = new ConcurrentHashMap<>();
  private static volatile long pingsFrom;
  private static volatile long pingsUntil;

  /** The ride id the node gives a request with this rider's Idempotency-Key (the rider id). */
  private static String rideIdOf(String rider) {
    return UUID.nameUUIDFromBytes((rider + "\n" + rider).getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static double near(double center) {
    return center + ThreadLocalRandom.current().nextDouble(-BOX, BOX);
  }

  /** A plausible next position and time: a few metres on, at least as far apart in time as the move takes. */
  private static Session move(Session s) {
    var random = ThreadLocalRandom.current();
    double lat = s.getDouble("lat") + random.nextDouble(-0.00005, 0.00005);
    double lng = s.getDouble("lng") + random.nextDouble(-0.00005, 0.00005);
    long at = Math.max(System.currentTimeMillis(), s.getLong("at") + 1000);
    pings.incrementAndGet();
    return s.set("lat", lat).set("lng", lng).set("at", at).set("atIso", Instant.ofEpochMilli(at).toString());
  }

  /** The offers among the frames a driver got since last time (to take), counting refused pings. */
  private static Session readDriverFrames(List<WsInboundMessage> frames, Session s) {
    var offers = new ArrayList<String>();
    for (var frame : frames) {
      if (!(frame instanceof WsInboundMessage.Text text)) continue;
      var json = text.message();
      if (json.contains("\"type\":\"offer\"")) {
        var id = RIDE_ID.matcher(json);
        if (id.find()) {
          offers.add(id.group(1));
          var requested = requestedAt.remove(id.group(1));
          if (requested != null) requestToOffer.record((frame.timestamp() - requested) * 1000);
        }
      } else if (json.contains("\"type\":\"error\"") && json.contains("ping refused")) {
        refusedPings.incrementAndGet();
      } else if (json.contains("\"type\":\"error\"")) {
        errorFrames.incrementAndGet();
      }
    }
    offersAccepted.addAndGet(offers.size());
    return s.set("offers", offers);
  }

  /** Looks for this ride's {@code offered} (or {@code no_drivers_available}) among the rider's frames. */
  private static Session readRiderFrames(List<WsInboundMessage> frames, Session s) {
    for (var frame : frames) {
      if (!(frame instanceof WsInboundMessage.Text text)) continue;
      var json = text.message();
      if (!json.contains(s.getString("rideId"))) continue;
      if (json.contains("\"status\":\"offered\"") && !s.contains("offeredAt")) {
        s = s.set("offeredAt", frame.timestamp());
      } else if (json.contains("\"status\":\"no_drivers_available\"")) {
        s = s.set("noDrivers", true);
      }
    }
    return s;
  }

  private final ScenarioBuilder driver = scenario("drivers")
      .exec(s -> s.set("driver", "dd-" + Plaza.RUN + "-" + s.userId()).set("lat", near(LAT)).set("lng", near(LNG))
          .set("at", 0L))
      .exec(Plaza.login("driver"))
      .exec(ws("connect driver").wsName("d").connect("/v1/dispatch/driver/ws")
          .header("Authorization", Plaza.bearer("driver")))
      .exec(ws("go online").wsName("d").sendText("{\"type\":\"online\",\"vehicleType\":\"car\"}")
          .await(Duration.ofSeconds(10)).on(ws.checkTextMessage("available")
              .matching(jsonPath("$.type").is("status")).check(jsonPath("$.status").is("available"))))
      .exec(s -> {
        if (pingsFrom == 0) pingsFrom = System.nanoTime();
        return s;
      })
      // Gatling clears a socket's unmatched frames whenever it sends one: read them first, then answer, then ping.
      .exec(during(Plaza.DURATION).on(pace(Duration.ofSeconds(1))
          .exec(ws.processUnmatchedMessages("d", DispatchSimulation::readDriverFrames))
          .exec(foreach("#{offers}", "rideId").on(
              // Accepted when the driver hears "assigned" (or an error: the offer was taken back); only then the
              // trip's stages, which the driver's socket may handle concurrently.
              exec(ws("accept → assigned").wsName("d").sendText("{\"type\":\"accept\",\"rideId\":\"#{rideId}\"}")
                  .await(Duration.ofSeconds(10)).on(ws.checkTextMessage("accept → assigned")
                      .matching(regex("\"type\":\"(status|error)\""))
                      .check(substring("\"status\":\"assigned\"")))),
              exec(ws("arrived").wsName("d").sendText("{\"type\":\"arrived\",\"rideId\":\"#{rideId}\"}")),
              exec(ws("started").wsName("d").sendText("{\"type\":\"started\",\"rideId\":\"#{rideId}\"}")),
              exec(ws("completed").wsName("d").sendText("{\"type\":\"completed\",\"rideId\":\"#{rideId}\"}"))))
          .exec(DispatchSimulation::move)
          .exec(ws("ping").wsName("d").sendText("{\"type\":\"ping\",\"lat\":#{lat},\"lng\":#{lng},\"heading\":90,"
              + "\"speed\":5,\"at\":\"#{atIso}\"}"))))
      .exec(s -> {
        pingsUntil = System.nanoTime();
        return s;
      })
      .exec(ws("close").wsName("d").close());

  private final ScenarioBuilder rider = scenario("riders")
      .exec(s -> s.set("rider", "dr-" + Plaza.RUN + "-" + s.userId()))
      .exec(Plaza.login("rider"))
      .exec(ws("connect rider").wsName("r").connect("/v1/dispatch/rider/ws")
          .header("Authorization", Plaza.bearer("rider")))
      .exec(s -> s.set("requestedAt", System.currentTimeMillis()).set("rideKey", rideIdOf(s.getString("rider")))
          .set("pickup", String.format(Locale.ROOT,
          "{\"lat\":%.6f,\"lng\":%.6f}", near(LAT), near(LNG))))
      .exec(s -> {
        requestedAt.put(s.getString("rideKey"), s.getLong("requestedAt"));
        return s;
      })
      .exec(http("request ride").post("/v1/rides").header("Authorization", Plaza.bearer("rider"))
          .header("Idempotency-Key", "#{rider}")
          .body(StringBody("{\"pickup\":#{pickup},\"dropoff\":{\"lat\":38.75,\"lng\":-9.15},\"vehicleType\":\"car\"}"))
          .check(status().is(201), jsonPath("$.rideId").saveAs("rideId")))
      .exec(asLongAs(s -> !s.contains("offeredAt") && !s.contains("noDrivers")
              && System.currentTimeMillis() - s.getLong("requestedAt") < OFFER_TIMEOUT.toMillis())
          .on(exec(ws.processUnmatchedMessages("r", DispatchSimulation::readRiderFrames))
              .pause(Duration.ofMillis(10))))
      .exec(s -> {
        if (s.contains("offeredAt")) {
          requestToRiderSeesOffer.record((s.getLong("offeredAt") - s.getLong("requestedAt")) * 1000);
        } else if (s.contains("noDrivers")) {
          noDrivers.incrementAndGet();
        } else {
          noOffer.incrementAndGet();
        }
        return s;
      })
      .exec(ws("close").wsName("r").close());

  {
    System.out.printf("dispatch: %d drivers pinging at 1 Hz, ride requests at %.1f/s, %s%n", drivers, rideRate,
        Plaza.DURATION);
    var driving = driver.injectOpen(rampUsers(drivers).during(Plaza.RAMP));
    // rate 0: drivers only, to measure what pings cost by themselves.
    setUp(rideRate > 0 ? List.of(driving,
            // Riders start once every driver is online and has pinged.
            rider.injectOpen(nothingFor(Plaza.RAMP.plusSeconds(5)), constantUsersPerSec(rideRate).during(
                ridesFor())))
        : List.of(driving))
        .protocols(Plaza.protocol().wsUnmatchedInboundMessageBufferSize(64));
  }

  /** Rides are requested while every driver pings: from the end of the ramp to 5 s before the drivers stop. */
  private static Duration ridesFor() {
    var window = Plaza.DURATION.minus(Plaza.RAMP).minusSeconds(10);
    return window.compareTo(Duration.ofSeconds(5)) < 0 ? Duration.ofSeconds(5) : window;
  }

  @Override
  public void after() {
    double seconds = (pingsUntil - pingsFrom) / 1e9;
    System.out.println(String.format(Locale.ROOT, "pings: %d sent in %.1f s = %.0f/s (%d drivers at 1 Hz); refused by "
        + "the node: %d; other error frames to drivers: %d", pings.get(), seconds, pings.get() / Math.max(seconds, 1e-9),
        drivers, refusedPings.get(), errorFrames.get()));
    System.out.println(requestToOffer.report(" (at the driver's socket)"));
    System.out.println(requestToRiderSeesOffer.report(String.format(Locale.ROOT,
        "; rides without an offer within %d s: %d; no_drivers_available: %d; offers taken by drivers: %d",
        OFFER_TIMEOUT.toSeconds(), noOffer.get(), noDrivers.get(), offersAccepted.get())));
  }
}
