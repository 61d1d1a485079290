package io.plaza.ledger;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps `transfers` up to date for the transfers a source account coordinates ({@link LedgerAccount.Send}): their
 * rows come from the source account's events, in that account's order, with its sequence numbers as versions (a
 * saga transfer's rows come from its own events, {@link TransfersProjectionHandler}; its legs here change no row). The
 * changes of one transfer are merged into one write: a debit waits up to {@code pendingRowDelay} for its settlement
 * (held in memory; almost all settle sooner), so a transfer usually costs one row write and no note.
 *
 * <p>It is also the sweeper that replaces remember-entities for these transfers: a debit still unsettled after that
 * delay is written as pending and noted in `transfers_unsettled`, and every {@code interval} the handler of each tag
 * reads the last minutes of its tag there, wakes the source account of every transfer still not settled after {@code
 * settleWithin} (its recovery delivers the credit again — after a crash nothing else would start it) and forgets the
 * settled ones.
 */
public final class AccountTransfersProjectionHandler extends Handler<List<EventEnvelope<LedgerAccount.Event>>> {

  private static final Logger log = LoggerFactory.getLogger(AccountTransfersProjectionHandler.class);

  /**
   * How often to sweep, how long a transfer may take before its source is woken, how to wake it, and how long a
   * debit's row waits for its settlement before it is written as pending.
   */
  public record Sweep(Duration interval, Duration settleWithin, Consumer<String> wakeAccount, Clock clock,
      Duration pendingRowDelay) {}

  private static final Duration MIN_EXPIRY_TICK = Duration.ofMillis(100);

  /** Sweeps read this many minute partitions back; rows older are moved forward, so none is left behind. */
  static final int MINUTES_READ = 3;

  private final TransferRepository repository;
  private final String tag;
  private final ActorSystem<?> system;
  private final Sweep sweep;
  private final AtomicBoolean sweeping = new AtomicBoolean();
  private volatile Cancellable scheduled;
  private volatile Cancellable expiring;

  public AccountTransfersProjectionHandler(TransferRepository repository, String tag, ActorSystem<?> system,
      Sweep sweep) {
    this.repository = repository;
    this.tag = tag;
    this.system = system;
    this.sweep = sweep;
  }

  @Override
  public CompletionStage<Done> start() {
    scheduled = system.classicSystem().scheduler().scheduleWithFixedDelay(sweep.interval(), sweep.interval(),
        () -> sweepOnce(), system.executionContext());
    var every = sweep.pendingRowDelay().dividedBy(4);
    if (every.compareTo(MIN_EXPIRY_TICK) < 0) every = MIN_EXPIRY_TICK;
    expiring = system.classicSystem().scheduler().scheduleWithFixedDelay(every, every, () -> writeExpired(),
        system.executionContext());
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  @Override
  public CompletionStage<Done> stop() {
    var s = scheduled;
    if (s != null) s.cancel();
    var e = expiring;
    if (e != null) e.cancel();
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<LedgerAccount.Event>> envelopes) {
    var changes = new LinkedHashMap<String, TransferRepository.Change>();
    var debits = new LinkedHashMap<String, EnvelopedDebit>();
    long latest = Long.MIN_VALUE;
    for (var env : envelopes) {
      latest = Math.max(latest, env.timestamp());
      var change = changeFor(env.event(), env.sequenceNr());
      if (change == null) continue;
      changes.merge(change.transferId(), change, AccountTransfersProjectionHandler::merge);
      if (env.event() instanceof LedgerAccount.TransferDebited debited) {
        debits.put(debited.transferId(), new EnvelopedDebit(debited, env.timestamp()));
      } else {
        debits.remove(change.transferId()); // settled, refunded or refused in the same group
      }
    }
    var now = sweep.clock().instant();
    var writes = new ArrayList<TransferRepository.Change>();
    var notes = new ArrayList<TransferRepository.Unsettled>();
    var settled = new ArrayList<TransferRepository.Unsettled>();
    synchronized (held) {
      for (var change : changes.values()) {
        var id = change.transferId();
        var earlier = held.remove(id);
        var merged = earlier == null ? change : merge(earlier.change(), change);
        var debit = debits.get(id);
        if (debit != null) {
          // Not settled yet: held back, most settle within a group or two and are then written once, completed.
          held.put(id, new Held(merged, unsettledNote(debit.event()), debit.timestamp(), now));
        } else {
          writes.add(merged);
          var note = marked.remove(id);
          if (note != null) settled.add(note); // noted by this handler: forgotten at once, the sweep finds others
        }
      }
      // Written before this group's offset is saved: no debit is held back further than the delay behind it.
      takeExpired(latest, now, writes, notes);
    }
    return write(writes, notes, settled);
  }

  /** A debit and the write time of its event (its envelope's timestamp). */
  private record EnvelopedDebit(LedgerAccount.TransferDebited event, long timestamp) {}

  /** A debit held back, as the change it makes and the note it would leave, and when it was written and seen. */
  private record Held(TransferRepository.Change change, TransferRepository.Unsettled note, long writtenAtMillis,
      Instant seenAt) {}

  /**
   * Debits seen without their settlement and not written yet, oldest first. Each stays at most {@code
   * pendingRowDelay}, by the time of its event behind the newest one handled and by the wall clock (so an idle tag
   * writes them too), then its row is written as pending and it is noted for the sweep. One lost with a crash is seen
   * again: the projection restarts {@code plaza.projections.restart-rewind} (longer, checked at start) before its
   * saved offset.
   */
  private final LinkedHashMap<String, Held> held = new LinkedHashMap<>();

  private TransferRepository.Unsettled unsettledNote(LedgerAccount.TransferDebited d) {
    return new TransferRepository.Unsettled(tag, minuteOf(d.occurredAt()), d.transferId(), d.accountId(),
        d.occurredAt());
  }

  /**
   * Moves the held debits due by {@code latestMillis} (event time; {@code Long.MIN_VALUE}: none) or {@code now}
   * (wall clock) to the writes; the caller holds the lock.
   */
  private void takeExpired(long latestMillis, Instant now, List<TransferRepository.Change> writes,
      List<TransferRepository.Unsettled> notes) {
    var delay = sweep.pendingRowDelay();
    for (var it = held.values().iterator(); it.hasNext();) {
      var h = it.next();
      var byEventTime = latestMillis != Long.MIN_VALUE && h.writtenAtMillis() <= latestMillis - delay.toMillis();
      if (!byEventTime && h.seenAt().plus(delay).isAfter(now)) continue;
      it.remove();
      writes.add(h.change());
      notes.add(h.note());
      marked.put(h.change().transferId(), h.note());
    }
  }

  /** Writes the held debits the wall clock made due: run every so often, so that an idle tag writes them too. */
  CompletionStage<Done> writeExpired() {
    var writes = new ArrayList<TransferRepository.Change>();
    var notes = new ArrayList<TransferRepository.Unsettled>();
    synchronized (held) {
      takeExpired(Long.MIN_VALUE, sweep.clock().instant(), writes, notes);
    }
    if (writes.isEmpty()) return CompletableFuture.completedFuture(Done.getInstance());
    return write(writes, notes, List.of()).whenComplete((d, failure) -> {
      if (failure == null) return;
      // Held again, and due: the next run or the next group (before its offset is saved) writes them.
      log.warn("writing {} pending transfers of {} failed; retrying", writes.size(), tag, failure);
      synchronized (held) {
        for (int i = 0; i < writes.size(); i++) {
          var note = notes.get(i);
          held.putIfAbsent(note.transferId(), new Held(writes.get(i), note, Long.MIN_VALUE, Instant.EPOCH));
        }
      }
    });
  }

  private CompletionStage<Done> write(List<TransferRepository.Change> writes, List<TransferRepository.Unsettled> notes,
      List<TransferRepository.Unsettled> settled) {
    CompletionStage<Done> done = writes.isEmpty() ? CompletableFuture.completedFuture(Done.getInstance())
        : repository.apply(List.copyOf(writes));
    if (!notes.isEmpty()) done = done.thenCompose(d -> repository.markUnsettled(List.copyOf(notes)));
    if (!settled.isEmpty()) {
      done = done.thenCompose(d -> io.plaza.platform.Cassandra.writeAll(settled, repository::forgetUnsettled));
    }
    return done;
  }

  /** The notes this handler wrote, by transfer id (the most recent {@link #MARKED_REMEMBERED}). */
  static final int MARKED_REMEMBERED = 100_000;

  private final Map<String, TransferRepository.Unsettled> marked =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, TransferRepository.Unsettled> eldest) {
          return size() > MARKED_REMEMBERED;
        }
      };

  /** The row change of an account event, or null when it is no coordinated transfer's. */
  static TransferRepository.Change changeFor(LedgerAccount.Event event, long version) {
    if (event instanceof LedgerAccount.TransferDebited e && e.coordinated()) {
      return new TransferRepository.Change(e.transferId(), version, e.request(), e.occurredAt(),
          Transfer.Status.PENDING, null, null, steps("requested", e.occurredAt(), "debited", e.occurredAt()), null);
    }
    if (event instanceof LedgerAccount.TransferSettled e) {
      if (e.parkedReason() != null) {
        return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.PARKED,
            e.parkedReason(), null, Map.of("parked", e.occurredAt()), e.occurredAt());
      }
      return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.COMPLETED, null, null,
          // A null step time would fail the projection for good: the settlement's own time stands in.
          Map.of("credited", e.creditedAt() != null ? e.creditedAt() : e.occurredAt()), e.occurredAt());
    }
    if (event instanceof LedgerAccount.TransferRefunded e && e.creditRefusal() != null) {
      return new TransferRepository.Change(e.transferId(), version, null, null, Transfer.Status.COMPENSATED,
          e.creditRefusal(), null, steps("credit refused", e.occurredAt(), "refunded", e.occurredAt()),
          e.occurredAt());
    }
    if (event instanceof LedgerAccount.TransferRefused e) {
      return new TransferRepository.Change(e.transferId(), version, e.request(), e.occurredAt(),
          Transfer.Status.FAILED, e.rejection().detail(), e.rejection().kind().status,
          steps("requested", e.occurredAt(), "refused", e.occurredAt()), e.occurredAt());
    }
    return null;
  }

  /** Two changes of one transfer as one write: the later one's status, the union of steps, whatever either knows. */
  static TransferRepository.Change merge(TransferRepository.Change earlier, TransferRepository.Change later) {
    var steps = new HashMap<String, Instant>(earlier.steps());
    steps.putAll(later.steps());
    return new TransferRepository.Change(later.transferId(), Math.max(earlier.version(), later.version()),
        later.request() != null ? later.request() : earlier.request(),
        later.createdAt() != null ? later.createdAt() : earlier.createdAt(), later.status(),
        later.detail() != null ? later.detail() : earlier.detail(),
        later.problemStatus() != null ? later.problemStatus() : earlier.problemStatus(), steps,
        later.finishedAt() != null ? later.finishedAt() : earlier.finishedAt(),
        later.expiresAt() != null ? later.expiresAt() : earlier.expiresAt(),
        later.postedAmount() != null ? later.postedAmount() : earlier.postedAmount());
  }

  private static Map<String, Instant> steps(String a, Instant atA, String b, Instant atB) {
    var steps = new LinkedHashMap<String, Instant>();
    steps.put(a, atA);
    steps.put(b, atB);
    return steps;
  }

  static Instant minuteOf(Instant at) {
    return at.truncatedTo(ChronoUnit.MINUTES);
  }

  /** One sweep of this tag's recent minutes; a sweep still running when the next is due makes that one skip. */
  CompletionStage<Done> sweepOnce() {
    if (!sweeping.compareAndSet(false, true)) return CompletableFuture.completedFuture(Done.getInstance());
    var now = sweep.clock().instant();
    var current = minuteOf(now);
    // Every minute is read before any row moves: a row moved to the current minute is not seen twice.
    CompletionStage<List<TransferRepository.Unsettled>> read = CompletableFuture.completedFuture(List.of());
    for (int back = MINUTES_READ - 1; back >= 0; back--) {
      var minute = current.minus(back, ChronoUnit.MINUTES);
      read = read.thenCompose(sofar -> repository.unsettled(tag, minute).thenApply(rows -> {
        var all = new ArrayList<>(sofar);
        all.addAll(rows);
        return all;
      }));
    }
    return read.thenCompose(rows -> sweep(rows, now, current)).whenComplete((d, failure) -> {
      sweeping.set(false);
      if (failure != null) log.warn("sweep of unsettled transfers of {} failed; the next one retries", tag, failure);
    });
  }

  /**
   * At most {@link #SWEEP_PARALLELISM} rows at a time and {@link #SWEEP_MAX_ROWS} per sweep (the rest wait for the
   * next): a sweep must never crowd the journal's writes out of the driver's connections. Found in an overload run,
   * where a sweep reading thousands of rows at once exhausted them and made journal writes fail.
   */
  private CompletionStage<Done> sweep(List<TransferRepository.Unsettled> rows, Instant now, Instant current) {
    var due = rows.stream().filter(u -> !u.debitedAt().isAfter(now.minus(sweep.settleWithin())))
        .limit(SWEEP_MAX_ROWS).toList();
    CompletionStage<Done> done = CompletableFuture.completedFuture(Done.getInstance());
    for (int from = 0; from < due.size(); from += SWEEP_PARALLELISM) {
      var chunk = due.subList(from, Math.min(due.size(), from + SWEEP_PARALLELISM));
      done = done.thenCompose(d -> CompletableFuture.allOf(chunk.stream()
              .map(u -> sweepOne(u, now, current).toCompletableFuture()).toArray(CompletableFuture[]::new))
          .thenApply(v -> Done.getInstance()));
    }
    return done;
  }

  static final int SWEEP_PARALLELISM = 8;
  static final int SWEEP_MAX_ROWS = 1_000;

  private CompletionStage<Done> sweepOne(TransferRepository.Unsettled u, Instant now, Instant current) {
    return repository.find(u.transferId()).thenCompose(row -> {
      if (row.isPresent() && row.get().status() != Transfer.Status.PENDING) return repository.forgetUnsettled(u);
      log.info("transfer {} is not settled {} after its debit: waking its source account {}", u.transferId(),
          Duration.between(u.debitedAt(), now), u.fromAccount());
      sweep.wakeAccount().accept(u.fromAccount());
      if (!u.minute().isBefore(current.minus(MINUTES_READ - 2, ChronoUnit.MINUTES))) {
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      // About to fall out of the minutes read: moved to the current one.
      var moved = new TransferRepository.Unsettled(tag, current, u.transferId(), u.fromAccount(), u.debitedAt());
      return repository.markUnsettled(List.of(moved)).thenCompose(d -> repository.forgetUnsettled(u));
    });
  }
}
