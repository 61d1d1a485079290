package io.plaza.dispatch;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Json;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One driver: online or not, and the single writer of "who has this driver". An offer reserves the driver (persisted)
 * only while it is available, so two rides can never hold the same driver; it becomes the driver's ride only when the
 * ride confirms the driver's accept. Location pings are kept in memory (the last one is persisted at most every
 * {@code locationSaveInterval}) and announced to the cell index while the driver is available.
 *
 * <p>An offer the driver neither accepts nor declines is withdrawn by the ride at its deadline. Should that message be
 * lost, the driver asks the ride {@code leaseGrace} after the deadline whether the ride is its, and never frees itself
 * before the ride answered: a driver is never free while a ride counts it as assigned.
 */
public final class Driver
    extends EventSourcedBehaviorWithEnforcedReplies<Driver.Command, Driver.Event, Driver.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Driver");

  public enum Status { OFFLINE, AVAILABLE, OFFERED, ASSIGNED, ON_TRIP }

  /** How a reserved offer ended without becoming the driver's ride. */
  public enum OfferOutcome { DECLINED, EXPIRED, WITHDRAWN, LOST }

  /** A stage the driver reports on its ride. */
  public enum Stage { ARRIVED, STARTED, COMPLETED, CANCELLED }

  /**
   * {@code staleAfter}: a driver not heard from for this long is never offered; {@code locationSaveInterval}: the
   * latest location is persisted at most this often; {@code leaseGrace}: after an offer's deadline, how long before
   * the driver asks the ride itself; {@code askTimeout}: for asks to the ride; {@code announceMoveMeters} and
   * {@code announceEvery}: a ping within the same cell is told to the cell index only once the driver moved this far
   * from the position the index has, or the index's copy is this old (the index drops drivers it has not heard of for
   * {@code staleAfter}, so {@code announceEvery} must stay well below it).
   */
  public record Settings(Duration staleAfter, Duration locationSaveInterval, Duration leaseGrace, Duration askTimeout,
      double announceMoveMeters, Duration announceEvery) {

    public Settings {
      if (announceEvery.multipliedBy(2).compareTo(staleAfter) > 0) {
        throw new IllegalArgumentException("announce-every (" + announceEvery + ") must be at most half of "
            + "driver-stale-after (" + staleAfter + "): the cell index would drop drivers that are pinging");
      }
    }

    /** Every ping is told to the cell index (tests that follow each ping into the index). */
    public Settings(Duration staleAfter, Duration locationSaveInterval, Duration leaseGrace, Duration askTimeout) {
      this(staleAfter, locationSaveInterval, leaseGrace, askTimeout, 0, Duration.ZERO);
    }

    public static Settings fromConfig(com.typesafe.config.Config dispatch, Duration askTimeout) {
      return new Settings(dispatch.getDuration("driver-stale-after"), dispatch.getDuration("location-save-interval"),
          dispatch.getDuration("offer-lease-grace"), askTimeout, dispatch.getDouble("announce-move-meters"),
          dispatch.getDuration("announce-every"));
    }
  }

  /** The offer the driver holds. */
  public record OpenOffer(String rideId, GeoPoint pickup, GeoPoint dropoff, long fareCents, Instant deadline)
      implements CborSerializable {}

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** From the driver's connection, which will receive the driver's pushed frames. */
  public record GoOnline(String vehicleType, ActorRef<String> connection, ActorRef<Reply> replyTo)
      implements Command {}

  public record GoOffline(ActorRef<Reply> replyTo) implements Command {}

  /** A location ping: not answered when accepted (1 Hz), an error frame to {@code connection} when refused. */
  public record Report(Ping ping, ActorRef<String> connection) implements Command {}

  /** From a ride: reserve this driver for the offer, or refuse. */
  public record Offer(OpenOffer offer, String vehicleType, ActorRef<Reply> replyTo) implements Command {}

  /** The driver accepts or declines its offer. */
  public record Respond(String rideId, boolean accept, ActorRef<Reply> replyTo) implements Command {}

  /** From a ride: its offer is over (deadline passed, or the rider cancelled). Idempotent. */
  public record Withdraw(String rideId, String reason, ActorRef<Reply> replyTo) implements Command {}

  /** The driver reports a stage of its ride. */
  public record Progress(String rideId, Stage stage, ActorRef<Reply> replyTo) implements Command {}

  public record GetStatus(ActorRef<Reply> replyTo) implements Command {}

  /** The ride's answer to a claim or a lease check: null when it did not answer in time. */
  private record RideAnswered(String rideId, Ride.Reply answer, ActorRef<Reply> replyTo) implements Command {}

  private record ProgressAnswered(String rideId, Stage stage, Ride.Reply answer, ActorRef<Reply> replyTo)
      implements Command {}

  private record CheckLease() implements Command {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  public record Done() implements Reply {}

  public record OfferPlaced() implements Reply {}

  public record OfferRefused(String reason) implements Reply {}

  public record DriverStatus(String driverId, Status status, String vehicleType, String rideId, Ping lastPing,
      double acceptanceRate) implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  // ---- Events -----------------------------------------------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String driverId();
  }

  public record WentOnline(String driverId, String vehicleType, Instant at) implements Event {}

  public record WentOffline(String driverId, Instant at) implements Event {}

  public record OfferReserved(String driverId, OpenOffer offer, Instant at) implements Event {}

  public record OfferEnded(String driverId, String rideId, OfferOutcome outcome, Instant at) implements Event {}

  public record RideAssigned(String driverId, String rideId, Instant at) implements Event {}

  public record TripStarted(String driverId, String rideId, Instant at) implements Event {}

  public record TripEnded(String driverId, String rideId, boolean completed, Instant at) implements Event {}

  public record LocationSaved(String driverId, GeoPoint location, Instant at) implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  /**
   * {@code offer}: the open offer while OFFERED; {@code rideId}: the ride while OFFERED, ASSIGNED or ON_TRIP;
   * {@code offers}/{@code accepts}: for the acceptance rate; {@code availableSince}: when the driver last became
   * available (fairness).
   */
  public record State(Status status, String vehicleType, OpenOffer offer, String rideId, long offers, long accepts,
      Instant availableSince, GeoPoint lastLocation) implements CborSerializable {

    static State empty() {
      return new State(Status.OFFLINE, null, null, null, 0, 0, null, null);
    }

    /** Smoothed, so a new driver starts at 1.0 and one decline does not sink them. */
    public double acceptanceRate() {
      return (accepts + 1.0) / (offers + 1.0);
    }

    State with(Status status, OpenOffer offer, String rideId) {
      return new State(status, vehicleType, offer, rideId, offers, accepts, availableSince, lastLocation);
    }
  }

  // ---- Behavior ---------------------------------------------------------------------------------------------

  public static Behavior<Command> create(String driverId, Settings settings, H3Cells cells, Clock clock,
      Function<String, RecipientRef<Ride.Command>> rides,
      Function<String, RecipientRef<DispatchCell.Command>> cellIndex) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Driver(driverId, settings, cells, clock, rides, cellIndex, ctx, timers)));
  }

  private final String driverId;
  private final Settings settings;
  private final H3Cells cells;
  private final Clock clock;
  private final Function<String, RecipientRef<Ride.Command>> rides;
  private final Function<String, RecipientRef<DispatchCell.Command>> cellIndex;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  // In memory only: rebuilt by the next ping after a restart or a move.
  private Ping lastPing;
  private Instant lastHeard;
  private ActorRef<String> connection;
  private String indexedCell;
  /** What the cell index last heard from this driver: where, and when. */
  private GeoPoint announcedLocation;
  private Instant announcedAt;
  private Instant locationSavedAt;

  private Driver(String driverId, Settings settings, H3Cells cells, Clock clock,
      Function<String, RecipientRef<Ride.Command>> rides, Function<String, RecipientRef<DispatchCell.Command>> cellIndex,
      ActorContext<Command> ctx, TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), driverId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.driverId = driverId;
    this.settings = settings;
    this.cells = cells;
    this.clock = clock;
    this.rides = rides;
    this.cellIndex = cellIndex;
    this.ctx = ctx;
    this.timers = timers;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.status() == Status.OFFERED) startLease(state.offer().deadline());
        })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(GoOnline.class, this::goOnline)
        .onCommand(GoOffline.class, this::goOffline)
        .onCommand(Report.class, this::report)
        .onCommand(Offer.class, this::offer)
        .onCommand(Respond.class, this::respond)
        .onCommand(RideAnswered.class, this::rideAnswered)
        .onCommand(Withdraw.class, this::withdraw)
        .onCommand(Progress.class, this::progress)
        .onCommand(ProgressAnswered.class, this::progressAnswered)
        .onCommand(CheckLease.class, this::checkLease)
        .onCommand(GetStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(), new DriverStatus(driverId,
            state.status(), state.vehicleType(), state.rideId(), lastPing, state.acceptanceRate())))
        .build();
  }

  private ReplyEffect<Event, State> goOnline(State state, GoOnline cmd) {
    connection = cmd.connection();
    var now = clock.instant();
    if (state.status() == Status.OFFLINE
        || (state.status() == Status.AVAILABLE && !cmd.vehicleType().equals(state.vehicleType()))) {
      return Effect().persist(new WentOnline(driverId, cmd.vehicleType(), now))
          .thenRun(this::announce)
          .thenReply(cmd.replyTo(), s -> new Done());
    }
    // Back after a reconnect: the open offer again, so it is not lost with the old connection.
    if (state.status() == Status.OFFERED) push(DispatchFrame.offer(state.offer()));
    return Effect().reply(cmd.replyTo(), new Done());
  }

  private ReplyEffect<Event, State> goOffline(State state, GoOffline cmd) {
    var now = clock.instant();
    return switch (state.status()) {
      case OFFLINE -> Effect().reply(cmd.replyTo(), new Done());
      case AVAILABLE -> Effect().persist(new WentOffline(driverId, now)).thenRun(s -> leaveIndex())
          .thenReply(cmd.replyTo(), s -> new Done());
      case OFFERED -> {
        var rideId = state.rideId();
        yield Effect().persist(List.of(new OfferEnded(driverId, rideId, OfferOutcome.DECLINED, now),
                new WentOffline(driverId, now)))
            .thenRun(s -> rides.apply(rideId).tell(new Ride.Declined(driverId)))
            .thenReply(cmd.replyTo(), s -> new Done());
      }
      case ASSIGNED, ON_TRIP -> Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(
          DispatchProblem.RIDE_IN_PROGRESS,
          "you have ride " + state.rideId() + ": complete or cancel it before going offline")));
    };
  }

  private ReplyEffect<Event, State> report(State state, Report cmd) {
    connection = cmd.connection();
    if (state.status() == Status.OFFLINE) {
      push(DispatchFrame.error(DispatchProblem.NOT_ONLINE, "go online before sending pings", null));
      return Effect().noReply();
    }
    var now = clock.instant();
    var refusal = Ping.rejection(lastPing, cmd.ping(), now);
    if (refusal != null) {
      push(DispatchFrame.error(422, "ping refused: " + refusal, null));
      return Effect().noReply();
    }
    lastPing = cmd.ping();
    lastHeard = now;
    if (state.status() == Status.AVAILABLE && announceDue(now)) announce(state);
    if (locationSavedAt == null || !locationSavedAt.plus(settings.locationSaveInterval()).isAfter(now)) {
      locationSavedAt = now;
      return Effect().persist(new LocationSaved(driverId, cmd.ping().location(), now)).thenNoReply();
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> offer(State state, Offer cmd) {
    var offer = cmd.offer();
    if (state.status() == Status.OFFERED && offer.rideId().equals(state.rideId())) {
      return Effect().reply(cmd.replyTo(), new OfferPlaced()); // a retried offer
    }
    var now = clock.instant();
    String refusal = null;
    if (state.status() != Status.AVAILABLE) refusal = "driver is " + state.status().name().toLowerCase();
    else if (!cmd.vehicleType().equals(state.vehicleType())) refusal = "driver drives " + state.vehicleType();
    else if (lastHeard == null || lastHeard.plus(settings.staleAfter()).isBefore(now)) refusal = "driver is stale";
    else if (!offer.deadline().isAfter(now)) refusal = "offer deadline has passed";
    if (refusal != null) return Effect().reply(cmd.replyTo(), new OfferRefused(refusal));
    return Effect().persist(new OfferReserved(driverId, offer, now))
        .thenRun(s -> {
          leaveIndex();
          push(DispatchFrame.offer(offer));
          startLease(offer.deadline());
        })
        .thenReply(cmd.replyTo(), s -> new OfferPlaced());
  }

  private ReplyEffect<Event, State> respond(State state, Respond cmd) {
    if (state.status() == Status.ASSIGNED && cmd.rideId().equals(state.rideId()) && cmd.accept()) {
      return Effect().reply(cmd.replyTo(), new Done()); // a retried accept
    }
    if (state.status() != Status.OFFERED || !cmd.rideId().equals(state.rideId())) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(DispatchProblem.OFFER_EXPIRED,
          "no open offer for ride " + cmd.rideId())));
    }
    var now = clock.instant();
    if (!cmd.accept()) {
      return Effect().persist(new OfferEnded(driverId, cmd.rideId(), OfferOutcome.DECLINED, now))
          .thenRun(s -> {
            rides.apply(cmd.rideId()).tell(new Ride.Declined(driverId));
            announce(s);
          })
          .thenReply(cmd.replyTo(), s -> new Done());
    }
    if (!state.offer().deadline().isAfter(now)) {
      return Effect().reply(cmd.replyTo(), new Rejected(new Rejection(Rejection.Kind.CONFLICT,
          "the offer expired at " + state.offer().deadline())));
    }
    claim(cmd.rideId(), cmd.replyTo());
    return Effect().noReply();
  }

  /** Asks the ride whether it is this driver's (an accept, or a lease check with {@code replyTo} null). */
  private void claim(String rideId, ActorRef<Reply> replyTo) {
    ctx.ask(Ride.Reply.class, rides.apply(rideId), settings.askTimeout(),
        ref -> new Ride.Claim(driverId, ref),
        (answer, failure) -> new RideAnswered(rideId, answer, replyTo));
  }

  private ReplyEffect<Event, State> rideAnswered(State state, RideAnswered answered) {
    var replyTo = answered.replyTo() == null ? ctx.getSystem().<Reply>ignoreRef() : answered.replyTo();
    if (state.status() != Status.OFFERED || !answered.rideId().equals(state.rideId())) {
      // Withdrawn (or already assigned by an earlier answer) meanwhile.
      return state.status() == Status.ASSIGNED && answered.rideId().equals(state.rideId())
          ? Effect().reply(replyTo, new Done())
          : Effect().reply(replyTo, new Rejected(Rejection.conflict(DispatchProblem.OFFER_EXPIRED,
              "the offer for ride " + answered.rideId()
              + " is over")));
    }
    var now = clock.instant();
    if (answered.answer() == null) {
      if (answered.replyTo() == null) startLease(now.plus(settings.leaseGrace())); // ask again later
      return Effect().reply(replyTo, new Rejected(new Rejection(Rejection.Kind.UNAVAILABLE,
          "the ride did not answer in time; retry")));
    }
    if (answered.answer() instanceof Ride.Assigned) {
      timers.cancel(CheckLease.class);
      return Effect().persist(new RideAssigned(driverId, answered.rideId(), now))
          .thenReply(replyTo, s -> new Done());
    }
    var reason = answered.answer() instanceof Ride.Refused refused ? refused.reason() : "the ride went elsewhere";
    return Effect().persist(new OfferEnded(driverId, answered.rideId(), OfferOutcome.LOST, now))
        .thenRun(s -> {
          timers.cancel(CheckLease.class);
          push(DispatchFrame.offerEnded(answered.rideId(), reason));
          announce(s);
        })
        .thenReply(replyTo, s -> new Rejected(Rejection.conflict(DispatchProblem.OFFER_LOST,
            "ride " + answered.rideId() + ": " + reason)));
  }

  private ReplyEffect<Event, State> withdraw(State state, Withdraw cmd) {
    if (!cmd.rideId().equals(state.rideId())) return Effect().reply(cmd.replyTo(), new Done());
    var now = clock.instant();
    Event ended = switch (state.status()) {
      case OFFERED -> new OfferEnded(driverId, cmd.rideId(), cmd.reason().equals("expired") ? OfferOutcome.EXPIRED
          : OfferOutcome.WITHDRAWN, now);
      case ASSIGNED, ON_TRIP -> new TripEnded(driverId, cmd.rideId(), false, now);
      default -> null;
    };
    if (ended == null) return Effect().reply(cmd.replyTo(), new Done());
    return Effect().persist(ended)
        .thenRun(s -> {
          timers.cancel(CheckLease.class);
          push(ended instanceof OfferEnded ? DispatchFrame.offerEnded(cmd.rideId(), cmd.reason())
              : DispatchFrame.ride(cmd.rideId(), "cancelled", driverId, cmd.reason(), now));
          announce(s);
        })
        .thenReply(cmd.replyTo(), s -> new Done());
  }

  private ReplyEffect<Event, State> progress(State state, Progress cmd) {
    boolean onIt = (state.status() == Status.ASSIGNED || state.status() == Status.ON_TRIP)
        && cmd.rideId().equals(state.rideId());
    if (!onIt) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(DispatchProblem.NOT_YOUR_RIDE,
          "ride " + cmd.rideId()
          + " is not your current ride")));
    }
    ctx.ask(Ride.Reply.class, rides.apply(cmd.rideId()), settings.askTimeout(),
        ref -> new Ride.DriverProgress(driverId, cmd.stage(), ref),
        (answer, failure) -> new ProgressAnswered(cmd.rideId(), cmd.stage(), answer, cmd.replyTo()));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> progressAnswered(State state, ProgressAnswered answered) {
    if (answered.answer() == null) {
      return Effect().reply(answered.replyTo(), new Rejected(new Rejection(Rejection.Kind.UNAVAILABLE,
          "the ride did not answer in time; retry")));
    }
    if (answered.answer() instanceof Ride.Refused refused) {
      return Effect().reply(answered.replyTo(), new Rejected(Rejection.conflict(DispatchProblem.RIDE_STATE,
          refused.reason())));
    }
    if (!answered.rideId().equals(state.rideId())) return Effect().reply(answered.replyTo(), new Done());
    var now = clock.instant();
    Event event = switch (answered.stage()) {
      case ARRIVED -> null;
      case STARTED -> state.status() == Status.ON_TRIP ? null : new TripStarted(driverId, answered.rideId(), now);
      case COMPLETED -> new TripEnded(driverId, answered.rideId(), true, now);
      case CANCELLED -> new TripEnded(driverId, answered.rideId(), false, now);
    };
    if (event == null) return Effect().reply(answered.replyTo(), new Done());
    return Effect().persist(event).thenRun(this::announce).thenReply(answered.replyTo(), s -> new Done());
  }

  private ReplyEffect<Event, State> checkLease(State state, CheckLease check) {
    if (state.status() == Status.OFFERED) claimOrAsk(state.rideId());
    return Effect().noReply();
  }

  /** A lease check is a claim without a waiting client: the ride answers Assigned only if it already assigned us. */
  private void claimOrAsk(String rideId) {
    ctx.ask(Ride.Reply.class, rides.apply(rideId), settings.askTimeout(),
        ref -> new Ride.OfferStatus(driverId, ref),
        (answer, failure) -> new RideAnswered(rideId, answer, null));
  }

  private void startLease(Instant deadline) {
    var delay = Duration.between(clock.instant(), deadline.plus(settings.leaseGrace()));
    timers.startSingleTimer(CheckLease.class, new CheckLease(), delay.isNegative() ? Duration.ZERO : delay);
  }

  /**
   * A ping is worth a message to the cell index when it changes what matching would see: another cell, a position
   * farther than {@code announceMoveMeters} from the indexed one, or an indexed copy older than {@code announceEvery}.
   * Most pings of an available driver (waiting, or crawling in traffic) change none of these.
   */
  private boolean announceDue(Instant now) {
    if (indexedCell == null || announcedAt == null) return true;
    if (!announcedAt.plus(settings.announceEvery()).isAfter(now)) return true;
    if (announcedLocation.metersTo(lastPing.location()) >= settings.announceMoveMeters()) return true;
    return !indexedCell.equals(cells.cellOf(lastPing.location()));
  }

  /** While available and heard from, the driver is in the index of the cell it is in (and only there). */
  private void announce(State state) {
    if (state.status() != Status.AVAILABLE || lastPing == null) {
      leaveIndex();
      return;
    }
    var cell = cells.cellOf(lastPing.location());
    if (indexedCell != null && !indexedCell.equals(cell)) cellIndex.apply(indexedCell).tell(new DispatchCell.Gone(driverId));
    indexedCell = cell;
    announcedLocation = lastPing.location();
    announcedAt = lastHeard;
    cellIndex.apply(cell).tell(new DispatchCell.Available(driverId, state.vehicleType(), lastPing.location(),
        state.acceptanceRate(), state.availableSince(), lastHeard));
  }

  private void leaveIndex() {
    if (indexedCell == null) return;
    cellIndex.apply(indexedCell).tell(new DispatchCell.Gone(driverId));
    indexedCell = null;
    announcedAt = null;
  }

  private void push(DispatchFrame frame) {
    if (connection != null) connection.tell(Json.write(frame));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(WentOnline.class, (s, e) -> new State(Status.AVAILABLE, e.vehicleType(), null, null, s.offers(),
            s.accepts(), s.status() == Status.OFFLINE ? e.at() : s.availableSince(), s.lastLocation()))
        .onEvent(WentOffline.class, (s, e) -> s.with(Status.OFFLINE, null, null))
        .onEvent(OfferReserved.class, (s, e) -> new State(Status.OFFERED, s.vehicleType(), e.offer(),
            e.offer().rideId(), s.offers() + 1, s.accepts(), s.availableSince(), s.lastLocation()))
        .onEvent(OfferEnded.class, (s, e) -> s.with(Status.AVAILABLE, null, null))
        .onEvent(RideAssigned.class, (s, e) -> new State(Status.ASSIGNED, s.vehicleType(), null, e.rideId(),
            s.offers(), s.accepts() + 1, s.availableSince(), s.lastLocation()))
        .onEvent(TripStarted.class, (s, e) -> s.with(Status.ON_TRIP, null, e.rideId()))
        .onEvent(TripEnded.class, (s, e) -> new State(Status.AVAILABLE, s.vehicleType(), null, null, s.offers(),
            s.accepts(), e.at(), s.lastLocation()))
        .onEvent(LocationSaved.class, (s, e) -> new State(s.status(), s.vehicleType(), s.offer(), s.rideId(),
            s.offers(), s.accepts(), s.availableSince(), e.location()))
        .build();
  }

  /** The vehicle types a driver may register with. */
  public static final Set<String> VEHICLE_TYPES = Set.of("car", "xl", "moto");
}
