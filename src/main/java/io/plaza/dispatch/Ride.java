package io.plaza.dispatch;

import io.plaza.platform.CborSerializable;
import io.plaza.platform.Rejection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One ride request and its life: requested → offered → accepted → arrived → started → completed, or cancelled, or
 * no drivers available. Matching searches the pickup cell's H3 rings outwards (ring 0, then 1, ...) until it has
 * enough candidates or reaches {@code maxRings}, ranks them ({@link DispatchScorer}) and offers the ride to the best
 * one. A decline or the offer deadline moves on to the next; candidates exhausted widens the search; nothing left →
 * no drivers available.
 *
 * <p>The offer deadline is persisted, so a ride recovered on another node (or after a restart) re-arms its timer for
 * the time left. The driver is reserved by its own entity; the ride becomes the driver's only when this entity
 * confirms the driver's claim (accept) — one ride, one driver.
 */
public final class Ride extends EventSourcedBehaviorWithEnforcedReplies<Ride.Command, Ride.Event, Ride.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Ride");

  /** Fixed forever once events are written. */
  public static final int TAG_COUNT = 8;

  public static final List<String> TAGS = IntStream.range(0, TAG_COUNT).mapToObj(i -> "dispatch-ride-" + i).toList();

  public enum Status {
    REQUESTED, OFFERED, ACCEPTED, ARRIVED, STARTED, COMPLETED, CANCELLED, NO_DRIVERS_AVAILABLE;

    public boolean ended() {
      return this == COMPLETED || this == CANCELLED || this == NO_DRIVERS_AVAILABLE;
    }

    public String wire() {
      return name().toLowerCase();
    }
  }

  public enum Party { RIDER, DRIVER }

  /**
   * Why {@code by} may not cancel a ride in {@code status}, or null if it may. Riders may cancel until the trip
   * starts; a driver only a ride it accepted (an offer it declines instead); nobody an ended ride or a started trip.
   */
  public static String cancelRefusal(Status status, Party by) {
    return switch (status) {
      case COMPLETED, CANCELLED, NO_DRIVERS_AVAILABLE -> "the ride has already ended (" + status.wire() + ")";
      case STARTED -> "the trip has started: it can only be completed";
      case REQUESTED, OFFERED -> by == Party.DRIVER
          ? "a driver cannot cancel a ride it has not accepted (decline the offer instead)" : null;
      case ACCEPTED, ARRIVED -> null;
    };
  }

  /**
   * {@code offerTimeout}: how long a driver has to accept; {@code maxRings}: how far (in H3 rings) matching widens;
   * {@code enoughCandidates}: stop widening once this many are found; {@code maxOffers}: give up after offering to this
   * many drivers; {@code retry}: how often an unconfirmed driver release is re-sent.
   */
  public record Settings(Duration offerTimeout, int maxRings, int enoughCandidates, int maxOffers, Duration retry,
      Duration askTimeout) {
    public static Settings fromConfig(com.typesafe.config.Config dispatch, Duration askTimeout) {
      return new Settings(dispatch.getDuration("offer-timeout"), dispatch.getInt("max-search-rings"),
          dispatch.getInt("enough-candidates"), dispatch.getInt("max-offers"), dispatch.getDuration("release-retry"),
          askTimeout);
    }
  }

  // ---- Commands ---------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** Idempotent: the same rider requesting again gets the ride as it is. */
  public record Request(String riderId, GeoPoint pickup, GeoPoint dropoff, String vehicleType, double surge,
      long fareCents, ActorRef<Reply> replyTo) implements Command {}

  /** The ride as {@code userId} may see it: its rider, or its driver. */
  public record Get(String userId, ActorRef<Reply> replyTo) implements Command {}

  /** The rider cancels. */
  public record Cancel(String riderId, ActorRef<Reply> replyTo) implements Command {}

  /** From a driver accepting its offer: answered Assigned, or Refused with the reason. */
  public record Claim(String driverId, ActorRef<Reply> replyTo) implements Command {}

  /** From a driver whose offer deadline has long passed: is this ride mine? Assigned or Refused. */
  public record OfferStatus(String driverId, ActorRef<Reply> replyTo) implements Command {}

  public record Declined(String driverId) implements Command {}

  public record DriverProgress(String driverId, Driver.Stage stage, ActorRef<Reply> replyTo) implements Command {}

  private record RingSearched(int ring, List<DispatchScorer.Candidate> found) implements Command {}

  private record OfferAnswered(String driverId, Instant deadline, Driver.Reply answer) implements Command {}

  private record OfferDeadline(String driverId) implements Command {}

  private record OfferNextCandidate() implements Command {}

  private record ReleaseAnswered(String driverId, boolean released) implements Command {}

  private record RetryRelease() implements Command {}

  private record Linger() implements Command {}

  // ---- Replies ----------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  /** {@code driverId}: set once a driver accepted. */
  public record RideView(String rideId, String riderId, Status status, GeoPoint pickup, GeoPoint dropoff,
      String vehicleType, double surge, long fareCents, String driverId, Instant requestedAt, Instant updatedAt,
      Party cancelledBy) implements Reply {}

  public record Assigned() implements Reply {}

  public record Refused(String reason) implements Reply {}

  public record Ok() implements Reply {}

  public record Rejected(Rejection rejection) implements Reply {}

  // ---- Events -----------------------------------------------------------------------------------------------

  public sealed interface Event extends CborSerializable {
    String rideId();

    Instant at();
  }

  public record Requested(String rideId, String riderId, GeoPoint pickup, GeoPoint dropoff, String vehicleType,
      double surge, long fareCents, Instant at) implements Event {}

  public record Offered(String rideId, String driverId, Instant deadline, Instant at) implements Event {}

  public record OfferDeclined(String rideId, String driverId, Instant at) implements Event {}

  public record OfferExpired(String rideId, String driverId, Instant at) implements Event {}

  public record DriverAssigned(String rideId, String driverId, Instant at) implements Event {}

  public record DriverArrived(String rideId, String driverId, Instant at) implements Event {}

  public record TripStarted(String rideId, String driverId, Instant at) implements Event {}

  public record TripCompleted(String rideId, String driverId, long fareCents, Instant at) implements Event {}

  /** {@code release}: the driver still to be told (null when none, or when the driver cancelled). */
  public record Cancelled(String rideId, Party by, String release, Instant at) implements Event {}

  public record NoDriversAvailable(String rideId, int offers, Instant at) implements Event {}

  public record DriverReleased(String rideId, String driverId, Instant at) implements Event {}

  // ---- State ------------------------------------------------------------------------------------------------

  /**
   * {@code driverId}: the driver offered (OFFERED) or assigned (ACCEPTED on); {@code offered}: every driver this ride
   * was offered to; {@code release}: a driver that must still be told the ride was cancelled.
   */
  public record State(Requested request, Status status, String driverId, Instant deadline, Set<String> offered,
      Instant updatedAt, Party cancelledBy, String release) implements CborSerializable {

    static State empty() {
      return new State(null, null, null, null, Set.of(), null, null, null);
    }

    State with(Status status, String driverId, Instant deadline, Instant at) {
      return new State(request, status, driverId, deadline, offered, at, cancelledBy, release);
    }
  }

  /** A ride's new status, for its rider's connections. */
  public record Update(String rideId, String riderId, Status status, String driverId, Instant at)
      implements CborSerializable {}

  // ---- Behavior ---------------------------------------------------------------------------------------------

  /**
   * Sharded with remember-entities (see Dispatch): a ride in flight is restarted wherever its shard lands after a
   * crash, so its offer deadline fires and matching goes on; an ended ride passivates a little later, which also
   * drops it from the remembered set.
   *
   * @param passivate stops the entity (sharding's Passivate), or does nothing in tests
   */
  public static Behavior<Command> create(String rideId, Settings settings, H3Cells cells, DispatchScorer scorer,
      Clock clock, Function<String, RecipientRef<Driver.Command>> drivers,
      Function<String, RecipientRef<DispatchCell.Command>> cellIndex, Consumer<Update> updates,
      Consumer<ActorRef<Command>> passivate) {
    return create(rideId, settings, cells, scorer, clock, drivers, cellIndex, updates, passivate, ActiveRides.NONE);
  }

  /** @param active this node's gauge of rides in flight, which the ride keeps informed of its status */
  public static Behavior<Command> create(String rideId, Settings settings, H3Cells cells, DispatchScorer scorer,
      Clock clock, Function<String, RecipientRef<Driver.Command>> drivers,
      Function<String, RecipientRef<DispatchCell.Command>> cellIndex, Consumer<Update> updates,
      Consumer<ActorRef<Command>> passivate, ActiveRides active) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Ride(rideId, settings, cells, scorer, clock, drivers, cellIndex, updates,
            () -> passivate.accept(ctx.getSelf()), ctx, timers, active)));
  }

  /** How long an ended ride stays in memory (for reads of its final state) before it passivates. */
  static final Duration ENDED_LINGER = Duration.ofSeconds(30);

  private final String rideId;
  private final Settings settings;
  private final H3Cells cells;
  private final DispatchScorer scorer;
  private final Clock clock;
  private final Function<String, RecipientRef<Driver.Command>> drivers;
  private final Function<String, RecipientRef<DispatchCell.Command>> cellIndex;
  private final Consumer<Update> updates;
  private final Runnable passivate;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ActiveRides active;
  // Matching, in memory: rebuilt by searching again after a restart.
  private final LinkedHashMap<String, DispatchScorer.Candidate> candidates = new LinkedHashMap<>();
  private final Set<String> refused = new HashSet<>();
  private int searchedRing = -1;
  /** The driver asked to reserve itself whose answer has not arrived yet (it may already be accepting). */
  private String offerInFlight;
  private Instant offerInFlightDeadline;

  private Ride(String rideId, Settings settings, H3Cells cells, DispatchScorer scorer, Clock clock,
      Function<String, RecipientRef<Driver.Command>> drivers, Function<String, RecipientRef<DispatchCell.Command>> cellIndex,
      Consumer<Update> updates, Runnable passivate, ActorContext<Command> ctx, TimerScheduler<Command> timers,
      ActiveRides active) {
    super(PersistenceId.of(ENTITY_KEY.name(), rideId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1));
    this.rideId = rideId;
    this.settings = settings;
    this.cells = cells;
    this.scorer = scorer;
    this.clock = clock;
    this.drivers = drivers;
    this.cellIndex = cellIndex;
    this.updates = updates;
    this.passivate = passivate;
    this.ctx = ctx;
    this.timers = timers;
    this.active = active;
  }

  public static String tagFor(String rideId) {
    return TAGS.get(Math.floorMod(rideId.hashCode(), TAG_COUNT));
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(tagFor(rideId));
  }

  /**
   * It never snapshots, so its recovery skips the snapshot store: one Cassandra read less for each new one (one per
   * request). Give this up before adding a snapshot rule.
   */
  @Override
  public String journalPluginId() {
    return io.plaza.platform.Cassandra.oneShotJournal(ctx.getSystem());
  }

  @Override
  public Recovery recovery() {
    return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          active.track(rideId, state.status()); // also when recovered from a snapshot alone
          if (state.status() == Status.REQUESTED) search(state, 0);
          if (state.status() == Status.OFFERED) armDeadline(state.driverId(), state.deadline());
          if (state.release() != null) release(state.release());
          lingerIfEnded(state);
        })
        .onSignal(PostStop.instance(), state -> active.forget(rideId))
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Request.class, this::request)
        .onCommand(Get.class, (state, get) -> state.request() != null && (get.userId().equals(state.request().riderId())
            || get.userId().equals(assignedDriver(state)))
            ? Effect().reply(get.replyTo(), view(state)) : Effect().reply(get.replyTo(), notFound()))
        .onCommand(Cancel.class, this::cancel)
        .onCommand(Claim.class, this::claim)
        .onCommand(OfferStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(),
            cmd.driverId().equals(assignedDriver(state)) ? new Assigned()
                : new Refused("ride " + rideId + " is not assigned to you")))
        .onCommand(Declined.class, this::declined)
        .onCommand(DriverProgress.class, this::driverProgress)
        .onCommand(RingSearched.class, this::ringSearched)
        .onCommand(OfferAnswered.class, this::offerAnswered)
        .onCommand(OfferDeadline.class, this::offerDeadline)
        .onCommand(OfferNextCandidate.class, (state, next) -> state.status() == Status.REQUESTED ? offerNext(state)
            : Effect().noReply())
        .onCommand(ReleaseAnswered.class, (state, answered) -> {
          if (!answered.released()) {
            timers.startSingleTimer(RetryRelease.class, new RetryRelease(), settings.retry());
            return Effect().noReply();
          }
          if (!answered.driverId().equals(state.release())) return Effect().noReply();
          return Effect().persist(new DriverReleased(rideId, answered.driverId(), clock.instant()))
              .thenRun(this::lingerIfEnded).thenNoReply();
        })
        .onCommand(Linger.class, (state, linger) -> {
          if (idle(state)) passivate.run();
          return Effect().noReply();
        })
        .onCommand(RetryRelease.class, (state, retry) -> {
          if (state.release() != null) release(state.release());
          return Effect().noReply();
        })
        .build();
  }

  private ReplyEffect<Event, State> request(State state, Request cmd) {
    if (state.request() != null) {
      return cmd.riderId().equals(state.request().riderId()) ? Effect().reply(cmd.replyTo(), view(state))
          : Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(DispatchProblem.RIDE_ID_TAKEN,
              "ride id " + rideId + " is taken")));
    }
    var requested = new Requested(rideId, cmd.riderId(), cmd.pickup(), cmd.dropoff(), cmd.vehicleType(), cmd.surge(),
        cmd.fareCents(), clock.instant());
    return Effect().persist(requested)
        .thenRun(s -> {
          publish(s);
          search(s, 0);
        })
        .thenReply(cmd.replyTo(), this::view);
  }

  // ---- Matching ---------------------------------------------------------------------------------------------

  /** Asks every cell of ring {@code ring} around the pickup for its fresh candidates. */
  private void search(State state, int ring) {
    var exclude = new HashSet<>(state.offered());
    exclude.addAll(refused);
    var pickupCell = cells.cellOf(state.request().pickup());
    var asks = cells.ring(pickupCell, ring).stream()
        .map(cell -> AskPattern.<DispatchCell.Command, DispatchCell.Candidates>ask(cellIndex.apply(cell),
                replyTo -> new DispatchCell.FindCandidates(state.request().vehicleType(), Set.copyOf(exclude),
                    replyTo), settings.askTimeout(), ctx.getSystem().scheduler())
            .toCompletableFuture()
            // A cell that does not answer (moving, overloaded) contributes nobody this time.
            .exceptionally(e -> new DispatchCell.Candidates(List.of())))
        .toList();
    ctx.pipeToSelf(CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)), (v, e) -> new RingSearched(ring,
        asks.stream().flatMap(a -> a.join().drivers().stream()).toList()));
  }

  private ReplyEffect<Event, State> ringSearched(State state, RingSearched searched) {
    if (state.status() != Status.REQUESTED) return Effect().noReply();
    searched.found().forEach(c -> candidates.putIfAbsent(c.driverId(), c));
    searchedRing = searched.ring();
    if (candidates.size() < settings.enoughCandidates() && searchedRing < settings.maxRings()) {
      search(state, searchedRing + 1);
      return Effect().noReply();
    }
    return offerNext(state);
  }

  /** Offers the ride to the best remaining candidate, widens the search, or gives up. */
  private ReplyEffect<Event, State> offerNext(State state) {
    var now = clock.instant();
    var best = state.offered().size() >= settings.maxOffers() ? null
        : scorer.rank(candidates.values().stream()
            .filter(c -> !state.offered().contains(c.driverId()) && !refused.contains(c.driverId())).toList(),
            state.request().pickup(), now).stream().findFirst().orElse(null);
    if (best == null) {
      if (searchedRing < settings.maxRings() && state.offered().size() < settings.maxOffers()) {
        search(state, searchedRing + 1);
        return Effect().noReply();
      }
      return Effect().persist(new NoDriversAvailable(rideId, state.offered().size(), now))
          .thenRun(this::publish).thenNoReply();
    }
    var driverId = best.candidate().driverId();
    var deadline = now.plus(settings.offerTimeout());
    var offer = new Driver.OpenOffer(rideId, state.request().pickup(), state.request().dropoff(),
        state.request().fareCents(), deadline);
    offerInFlight = driverId;
    offerInFlightDeadline = deadline;
    ctx.ask(Driver.Reply.class, drivers.apply(driverId), settings.askTimeout(),
        ref -> new Driver.Offer(offer, state.request().vehicleType(), ref),
        (answer, failure) -> new OfferAnswered(driverId, deadline, answer));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> offerAnswered(State state, OfferAnswered answered) {
    boolean placed = answered.answer() instanceof Driver.OfferPlaced;
    offerInFlight = null;
    if (state.status() != Status.REQUESTED) {
      // The driver accepted before its answer arrived (see claim): nothing to do. Else the ride was cancelled while
      // the offer was on its way: free the driver it reserved.
      boolean ours = answered.driverId().equals(state.driverId());
      if (placed && !ours) withdraw(answered.driverId(), "cancelled");
      return Effect().noReply();
    }
    if (!placed) {
      // Busy, stale, or no answer: never this driver again for this ride. (A driver that reserved itself but whose
      // answer was lost asks this ride after its lease and is told the ride is not its.)
      refused.add(answered.driverId());
      return offerNext(state);
    }
    return Effect().persist(new Offered(rideId, answered.driverId(), answered.deadline(), clock.instant()))
        .thenRun(s -> {
          armDeadline(answered.driverId(), answered.deadline());
          publish(s);
        })
        .thenNoReply();
  }

  private void armDeadline(String driverId, Instant deadline) {
    var left = Duration.between(clock.instant(), deadline);
    timers.startSingleTimer(OfferDeadline.class, new OfferDeadline(driverId), left.isNegative() ? Duration.ZERO : left);
  }

  private ReplyEffect<Event, State> offerDeadline(State state, OfferDeadline deadline) {
    if (state.status() != Status.OFFERED || !deadline.driverId().equals(state.driverId())) return Effect().noReply();
    return Effect().persist(new OfferExpired(rideId, deadline.driverId(), clock.instant()))
        .thenRun(s -> {
          withdraw(deadline.driverId(), "expired");
          nextAfterOffer(s);
        })
        .thenNoReply();
  }

  private ReplyEffect<Event, State> declined(State state, Declined declined) {
    if (state.status() != Status.OFFERED || !declined.driverId().equals(state.driverId())) return Effect().noReply();
    timers.cancel(OfferDeadline.class);
    return Effect().persist(new OfferDeclined(rideId, declined.driverId(), clock.instant()))
        .thenRun(this::nextAfterOffer).thenNoReply();
  }

  /** Back to matching after an offer ended: the next candidate (through this entity's mailbox, in order). */
  private void nextAfterOffer(State state) {
    publish(state);
    ctx.getSelf().tell(new OfferNextCandidate());
  }

  private ReplyEffect<Event, State> claim(State state, Claim cmd) {
    if (cmd.driverId().equals(assignedDriver(state))) return Effect().reply(cmd.replyTo(), new Assigned());
    if (state.status() == Status.REQUESTED && cmd.driverId().equals(offerInFlight)) {
      // The driver saw the offer and accepted before its "placed" answer reached this ride: record both at once.
      var now = clock.instant();
      return Effect().persist(List.of(new Offered(rideId, cmd.driverId(), offerInFlightDeadline, now),
              new DriverAssigned(rideId, cmd.driverId(), now)))
          .thenRun(this::publish)
          .thenReply(cmd.replyTo(), s -> new Assigned());
    }
    if (state.status() != Status.OFFERED || !cmd.driverId().equals(state.driverId())) {
      return Effect().reply(cmd.replyTo(), new Refused(state.status() != null && state.status().ended()
          ? "the ride has ended (" + state.status().wire() + ")" : "the offer is no longer open"));
    }
    var now = clock.instant();
    if (now.isAfter(state.deadline())) return Effect().reply(cmd.replyTo(), new Refused("the offer expired"));
    timers.cancel(OfferDeadline.class);
    return Effect().persist(new DriverAssigned(rideId, cmd.driverId(), now))
        .thenRun(this::publish)
        .thenReply(cmd.replyTo(), s -> new Assigned());
  }

  // ---- After assignment -------------------------------------------------------------------------------------

  private ReplyEffect<Event, State> driverProgress(State state, DriverProgress cmd) {
    if (!cmd.driverId().equals(assignedDriver(state))) {
      return Effect().reply(cmd.replyTo(), new Refused("ride " + rideId + " is not assigned to you"));
    }
    var now = clock.instant();
    var status = state.status();
    Event event;
    switch (cmd.stage()) {
      case ARRIVED -> {
        if (status == Status.ARRIVED) return Effect().reply(cmd.replyTo(), new Ok());
        if (status != Status.ACCEPTED) return refuse(cmd.replyTo(), "cannot arrive: the ride is " + status.wire());
        event = new DriverArrived(rideId, cmd.driverId(), now);
      }
      case STARTED -> {
        if (status == Status.STARTED) return Effect().reply(cmd.replyTo(), new Ok());
        if (status != Status.ACCEPTED && status != Status.ARRIVED) {
          return refuse(cmd.replyTo(), "cannot start: the ride is " + status.wire());
        }
        event = new TripStarted(rideId, cmd.driverId(), now);
      }
      case COMPLETED -> {
        if (status == Status.COMPLETED) return Effect().reply(cmd.replyTo(), new Ok());
        if (status != Status.STARTED) return refuse(cmd.replyTo(), "cannot complete: the trip has not started");
        event = new TripCompleted(rideId, cmd.driverId(), state.request().fareCents(), now);
      }
      default -> {
        if (status == Status.CANCELLED) return Effect().reply(cmd.replyTo(), new Ok());
        var refusal = cancelRefusal(status, Party.DRIVER);
        if (refusal != null) return refuse(cmd.replyTo(), refusal);
        event = new Cancelled(rideId, Party.DRIVER, null, now);
      }
    }
    return Effect().persist(event).thenRun(this::publish).thenReply(cmd.replyTo(), s -> new Ok());
  }

  private ReplyEffect<Event, State> cancel(State state, Cancel cmd) {
    if (state.request() == null || !cmd.riderId().equals(state.request().riderId())) {
      return Effect().reply(cmd.replyTo(), notFound());
    }
    if (state.status() == Status.CANCELLED && state.cancelledBy() == Party.RIDER) {
      return Effect().reply(cmd.replyTo(), view(state)); // a retried cancel
    }
    var refusal = cancelRefusal(state.status(), Party.RIDER);
    if (refusal != null) {
      return Effect().reply(cmd.replyTo(), new Rejected(Rejection.conflict(DispatchProblem.RIDE_STATE, refusal)));
    }
    timers.cancel(OfferDeadline.class);
    var driver = state.driverId(); // offered or assigned: either way it must be freed
    return Effect().persist(new Cancelled(rideId, Party.RIDER, driver, clock.instant()))
        .thenRun(s -> {
          publish(s);
          if (driver != null) release(driver);
        })
        .thenReply(cmd.replyTo(), this::view);
  }

  /** Tells a driver its offer or ride is over; at least once (retried until it confirms) for a cancelled ride. */
  private void release(String driverId) {
    ctx.ask(Driver.Reply.class, drivers.apply(driverId), settings.askTimeout(),
        ref -> new Driver.Withdraw(rideId, "cancelled by the rider", ref),
        (answer, failure) -> new ReleaseAnswered(driverId, answer instanceof Driver.Done));
  }

  /** An expired offer: told once; the driver's own lease check covers a lost message. */
  private void withdraw(String driverId, String reason) {
    drivers.apply(driverId).tell(new Driver.Withdraw(rideId, reason, ctx.getSystem().ignoreRef()));
  }

  // ---- Helpers ----------------------------------------------------------------------------------------------

  private static String assignedDriver(State state) {
    if (state.status() == null) return null;
    return switch (state.status()) {
      case ACCEPTED, ARRIVED, STARTED, COMPLETED, CANCELLED -> state.driverId();
      default -> null;
    };
  }

  private RideView view(State s) {
    var r = s.request();
    return new RideView(rideId, r.riderId(), s.status(), r.pickup(), r.dropoff(), r.vehicleType(), r.surge(),
        r.fareCents(), assignedDriver(s), r.at(), s.updatedAt(), s.cancelledBy());
  }

  /** Publishes the ride's status to its rider's connections; an ended ride (all drivers told) passivates later. */
  private void publish(State s) {
    updates.accept(new Update(rideId, s.request().riderId(), s.status(), assignedDriver(s), s.updatedAt()));
    lingerIfEnded(s);
  }

  private void lingerIfEnded(State s) {
    if (idle(s) && !timers.isTimerActive(Linger.class)) timers.startSingleTimer(Linger.class, new Linger(), ENDED_LINGER);
  }

  /** Nothing left to do: never requested (started by a read), or ended with every driver told. */
  private static boolean idle(State s) {
    return s.request() == null || (s.status().ended() && s.release() == null);
  }

  private ReplyEffect<Event, State> refuse(ActorRef<Reply> replyTo, String reason) {
    return Effect().reply(replyTo, new Refused(reason));
  }

  private Rejected notFound() {
    return new Rejected(Rejection.notFound(DispatchProblem.RIDE_NOT_FOUND, "no ride " + rideId));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var apply = events();
    // The gauge of rides in flight follows every state change, replayed ones included; it only ever holds the
    // latest status, so replaying it is harmless.
    return (state, event) -> {
      var next = apply.apply(state, event);
      active.track(rideId, next.status());
      return next;
    };
  }

  private EventHandler<State, Event> events() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Requested.class, (s, e) -> new State(e, Status.REQUESTED, null, null, Set.of(), e.at(), null, null))
        .onEvent(Offered.class, (s, e) -> {
          var offered = new HashSet<>(s.offered());
          offered.add(e.driverId());
          return new State(s.request(), Status.OFFERED, e.driverId(), e.deadline(), Set.copyOf(offered), e.at(),
              null, null);
        })
        .onEvent(OfferDeclined.class, (s, e) -> s.with(Status.REQUESTED, null, null, e.at()))
        .onEvent(OfferExpired.class, (s, e) -> s.with(Status.REQUESTED, null, null, e.at()))
        .onEvent(DriverAssigned.class, (s, e) -> s.with(Status.ACCEPTED, e.driverId(), null, e.at()))
        .onEvent(DriverArrived.class, (s, e) -> s.with(Status.ARRIVED, s.driverId(), null, e.at()))
        .onEvent(TripStarted.class, (s, e) -> s.with(Status.STARTED, s.driverId(), null, e.at()))
        .onEvent(TripCompleted.class, (s, e) -> s.with(Status.COMPLETED, s.driverId(), null, e.at()))
        // A cancelled ride keeps its driver only if one had accepted it (not a driver it was merely offered to).
        .onEvent(Cancelled.class, (s, e) -> new State(s.request(), Status.CANCELLED,
            s.status() == Status.OFFERED ? null : s.driverId(), null, s.offered(), e.at(), e.by(), e.release()))
        .onEvent(NoDriversAvailable.class, (s, e) -> s.with(Status.NO_DRIVERS_AVAILABLE, null, null, e.at()))
        .onEvent(DriverReleased.class, (s, e) -> new State(s.request(), s.status(), s.driverId(), s.deadline(),
            s.offered(), s.updatedAt(), s.cancelledBy(), null))
        .build();
  }
}
