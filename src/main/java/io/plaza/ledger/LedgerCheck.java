package io.plaza.ledger;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import com.typesafe.config.ConfigFactory;
import io.plaza.platform.Cassandra;
import io.plaza.platform.PlazaConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The ledger's invariant checker, run against the live Cassandra by {@code bin/ledger-check} and by the admin endpoint
 * {@code GET /v1/admin/ledger/check}. It reads three read models (balances, journal, transfers) in full and each
 * account's latest events from the event journal, and checks that money was neither created nor lost:
 * <ol>
 *   <li>Σdebits = Σcredits per currency: every settled transfer's debit is matched by its credit or its refund, and
 *       no leg belongs to a transfer that should have none;</li>
 *   <li>each account's read-model balance = Σ of its journal entries = its entity's balance (from the event journal);
 *   </li>
 *   <li>no account is below its overdraft limit (below zero for accounts without overdraft);</li>
 *   <li>no transfer is stuck in flight longer than {@code stuckAfter}, and none is parked.</li>
 * </ol>
 * Read models trail the entities by about a second, so a check that fails is run again until {@code settle} is over.
 */
public final class LedgerCheck {

  public record Check(String name, boolean passed, String summary, List<String> violations) {}

  public record Report(Instant at, boolean passed, List<Check> checks) {
    public String text() {
      var out = new StringBuilder();
      for (var c : checks) {
        out.append(c.passed() ? "PASS " : "FAIL ").append(c.name()).append(": ").append(c.summary()).append('\n');
        c.violations().stream().limit(20).forEach(v -> out.append("     - ").append(v).append('\n'));
        if (c.violations().size() > 20) out.append("     … ").append(c.violations().size() - 20).append(" more\n");
      }
      out.append(passed ? "ledger-check: all invariants hold" : "ledger-check: VIOLATIONS FOUND").append('\n');
      return out.toString();
    }
  }

  private final ActorSystem<?> system;
  private final CqlSession session;
  private final String keyspace;
  private final Duration stuckAfter;
  private final Clock clock;

  public LedgerCheck(ActorSystem<?> system, CqlSession session, String keyspace, Duration stuckAfter, Clock clock) {
    this.system = system;
    this.session = session;
    this.keyspace = keyspace;
    this.stuckAfter = stuckAfter;
    this.clock = clock;
  }

  /** Checks; while something fails and {@code settle} is not over, waits for the read models and checks again. */
  public Report run(Duration settle) {
    long deadline = System.nanoTime() + settle.toNanos();
    while (true) {
      var report = runOnce();
      if (report.passed() || System.nanoTime() >= deadline) return report;
      try {
        Thread.sleep(1_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return report;
      }
    }
  }

  private record Account(String currency, long overdraftLimit, long balance, long version) {}

  /** {@code amount}: what moves, the posted amount for a posted pending transfer. */
  private record TransferRow(String status, String currency, long amount, Instant createdAt, Instant expiresAt) {}

  /** The journal legs of one transfer. */
  private static final class Legs {
    long debited;
    long credited;
    long refunded;
    int count;
  }

  public Report runOnce() {
    var now = clock.instant();
    var accounts = new HashMap<String, Account>();
    for (var row : session.execute(SimpleStatement.newInstance("SELECT account_id, currency, overdraft_limit, balance, "
        + "version FROM " + keyspace + ".balances").setPageSize(5_000))) {
      if (row.getString("currency") == null) continue; // a balance update whose opening is not projected yet
      accounts.put(row.getString("account_id"), new Account(row.getString("currency"), row.getLong("overdraft_limit"),
          row.getLong("balance"), row.getLong("version")));
    }
    var transfers = new HashMap<String, TransferRow>();
    for (var row : session.execute(SimpleStatement.newInstance("SELECT transfer_id, status, currency, amount, "
        + "posted_amount, created_at, expires_at FROM " + keyspace + ".transfers").setPageSize(5_000))) {
      if (row.getString("currency") == null) continue;
      long amount = row.isNull("posted_amount") ? row.getLong("amount") : row.getLong("posted_amount");
      transfers.put(row.getString("transfer_id"), new TransferRow(row.getString("status"), row.getString("currency"),
          amount, row.getInstant("created_at"), row.getInstant("expires_at")));
    }
    var journalSums = new HashMap<String, Long>();
    var legs = new HashMap<String, Legs>();
    var orphanEntries = new ArrayList<String>();
    long entries = 0;
    var newestEntries = new HashMap<String, Account>(); // seq and balance_after of each account's newest entry
    for (var row : session.execute(SimpleStatement.newInstance("SELECT account_id, seq, side, entry_type, amount, "
        + "balance_after, transfer_id FROM " + keyspace + ".journal_entries").setPageSize(5_000))) {
      entries++;
      var accountId = row.getString("account_id");
      var entry = new Account(null, 0, row.getLong("balance_after"), row.getLong("seq"));
      newestEntries.merge(accountId, entry, (a, b) -> b.version() > a.version() ? b : a);
      long amount = row.getLong("amount");
      boolean credit = "CREDIT".equals(row.getString("side"));
      journalSums.merge(accountId, credit ? amount : -amount, Long::sum);
      if (!accounts.containsKey(accountId)) orphanEntries.add("journal entry of unknown account " + accountId);
      var transferId = row.getString("transfer_id");
      if (transferId == null) continue;
      var l = legs.computeIfAbsent(transferId, id -> new Legs());
      l.count++;
      switch (row.getString("entry_type")) {
        case "refund" -> l.refunded += amount;
        default -> {
          if (credit) l.credited += amount;
          else l.debited += amount;
        }
      }
    }

    // The read model's balance is its newest journal entry's, as the API serves it (BalanceRepository.Balance.of).
    accounts.replaceAll((id, a) -> {
      var newest = newestEntries.get(id);
      return newest == null || newest.version() < a.version() ? a
          : new Account(a.currency(), a.overdraftLimit(), newest.balance(), newest.version());
    });
    var checks = new ArrayList<Check>();
    checks.add(doubleEntry(transfers, legs, orphanEntries));
    checks.add(balancesAgree(accounts, journalSums, entityBalances(accounts), entries));
    checks.add(noOverdraft(accounts));
    checks.add(nothingStuck(transfers, now));
    return new Report(now, checks.stream().allMatch(Check::passed), List.copyOf(checks));
  }

  private Check doubleEntry(Map<String, TransferRow> transfers, Map<String, Legs> legs, List<String> violations) {
    var debits = new TreeMap<String, Long>();
    var credits = new TreeMap<String, Long>();
    int settled = 0;
    for (var e : legs.entrySet()) {
      var transfer = transfers.get(e.getKey());
      var l = e.getValue();
      if (transfer == null) {
        violations.add("transfer " + e.getKey() + " has journal legs but no transfer record");
        continue;
      }
      var expected = switch (transfer.status()) {
        case "COMPLETED" -> l.debited == transfer.amount() && l.credited == transfer.amount() && l.refunded == 0;
        case "COMPENSATED" -> l.debited == transfer.amount() && l.refunded == transfer.amount() && l.credited == 0;
        case "FAILED", "VOIDED", "EXPIRED" -> l.count == 0; // holds are not journal entries
        default -> true; // in flight or parked: checked by "nothing stuck"
      };
      if (!expected) {
        violations.add("transfer " + e.getKey() + " is " + transfer.status() + " but its legs are debited "
            + l.debited + ", credited " + l.credited + ", refunded " + l.refunded + " (amount " + transfer.amount()
            + ")");
      }
      if (transfer.status().equals("COMPLETED") || transfer.status().equals("COMPENSATED")) {
        settled++;
        debits.merge(transfer.currency(), l.debited, Long::sum);
        credits.merge(transfer.currency(), l.credited + l.refunded, Long::sum);
      }
    }
    for (var currency : debits.keySet()) {
      if (!debits.get(currency).equals(credits.get(currency))) {
        violations.add(currency + ": settled transfers debited " + debits.get(currency) + " but credited "
            + credits.get(currency));
      }
    }
    var perCurrency = new StringBuilder();
    debits.forEach((currency, sum) -> perCurrency.append(", ").append(currency).append(" debits ").append(sum)
        .append(" = credits ").append(credits.get(currency)));
    return new Check("Σdebits = Σcredits per currency", violations.isEmpty(),
        settled + " settled transfers, " + legs.size() + " with journal legs" + perCurrency, violations);
  }

  private Check balancesAgree(Map<String, Account> accounts, Map<String, Long> journalSums,
      Map<String, Long> entityBalances, long entries) {
    var violations = new ArrayList<String>();
    for (var e : accounts.entrySet()) {
      var id = e.getKey();
      long readModel = e.getValue().balance();
      long journal = journalSums.getOrDefault(id, 0L);
      var entity = entityBalances.get(id);
      if (readModel != journal || entity == null || entity != readModel) {
        violations.add("account " + id + ": balances " + readModel + ", Σjournal " + journal + ", entity "
            + (entity == null ? "has no event " + e.getValue().version() : entity));
      }
    }
    return new Check("read-model balance = Σjournal = entity balance", violations.isEmpty(),
        accounts.size() + " accounts, " + entries + " journal entries", violations);
  }

  private static Check noOverdraft(Map<String, Account> accounts) {
    var violations = new ArrayList<String>();
    accounts.forEach((id, a) -> {
      if (a.balance() < -a.overdraftLimit()) {
        violations.add("account " + id + " has balance " + a.balance() + " below its overdraft limit "
            + a.overdraftLimit());
      }
    });
    long withOverdraft = accounts.values().stream().filter(a -> a.overdraftLimit() > 0).count();
    return new Check("no account below its overdraft limit (0 without overdraft)", violations.isEmpty(),
        accounts.size() + " accounts, " + withOverdraft + " allow an overdraft", violations);
  }

  private Check nothingStuck(Map<String, TransferRow> transfers, Instant now) {
    var violations = new ArrayList<String>();
    int inFlight = 0;
    int held = 0;
    for (var e : transfers.entrySet()) {
      var t = e.getValue();
      if (t.status().equals("PARKED")) violations.add("transfer " + e.getKey() + " is parked: an operator must look");
      if (t.status().equals("PENDING")) {
        inFlight++;
        if (t.createdAt().plus(stuckAfter).isBefore(now)) {
          violations.add("transfer " + e.getKey() + " in flight since " + t.createdAt());
        }
      }
      if (t.status().equals("HELD")) {
        held++;
        if (t.expiresAt() != null && t.expiresAt().plus(stuckAfter).isBefore(now)) {
          violations.add("transfer " + e.getKey() + " still held although its hold expired at " + t.expiresAt());
        }
      }
    }
    return new Check("no transfer stuck in flight longer than " + stuckAfter.toSeconds() + " s", violations.isEmpty(),
        transfers.size() + " transfers, " + inFlight + " in flight, " + held + " held", violations);
  }

  /**
   * Each account's balance after its last movement, read from the event journal from the read model's version on
   * (usually one event): the entity's own state, independent of every projection.
   */
  private static final long NO_EVENT = Long.MIN_VALUE;
  private static final long NO_MOVEMENT = Long.MIN_VALUE + 1;

  private Map<String, Long> entityBalances(Map<String, Account> accounts) {
    var journal = PersistenceQuery.get(system).getReadJournalFor(CassandraReadJournal.class,
        CassandraReadJournal.Identifier());
    try {
      return Source.from(accounts.entrySet())
          .mapAsyncUnordered(8, e -> journal.currentEventsByPersistenceId(
                  LedgerAccount.ENTITY_KEY.name() + "|" + e.getKey(), e.getValue().version(), Long.MAX_VALUE)
              .map(env -> env.event() instanceof LedgerAccount.Movement m ? m.balanceAfter() : NO_MOVEMENT)
              .runWith(Sink.fold(NO_EVENT, (last, b) -> b == NO_MOVEMENT ? (last == NO_EVENT ? b : last) : b), system)
              .thenApply(b -> {
                // Only an opening (no movement yet) from that version on: the balance is the read model's, 0. No
                // event at all: the read model names a version the entity never wrote, which no balance explains.
                Long balance = b == NO_EVENT ? null : b == NO_MOVEMENT ? e.getValue().balance() : b;
                return new java.util.AbstractMap.SimpleEntry<>(e.getKey(), balance);
              }))
          .runWith(Sink.seq(), system)
          .toCompletableFuture().get(10, TimeUnit.MINUTES)
          .stream().filter(e -> e.getValue() != null)
          .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    } catch (Exception e) {
      throw new IllegalStateException("cannot read account events from the journal", e);
    }
  }

  /**
   * {@code bin/ledger-check [settle-seconds]}: checks the keyspace of the configured Cassandra (PLAZA_KEYSPACE,
   * CASSANDRA_CONTACT_POINTS) and exits 1 on any violation.
   */
  public static void main(String[] args) {
    var settle = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 10);
    var config = PlazaConfig.load(ConfigFactory.parseString("""
            pekko.actor.provider = local
            pekko.loglevel = WARNING
            # Tag notifications need a cluster; this reader needs no tags.
            pekko.persistence.cassandra.events-by-tag.pubsub-notification = off
            """));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "ledger-check", config);
    int exit;
    try {
      var session = Cassandra.underlying(system, Duration.ofSeconds(30));
      var check = new LedgerCheck(system, session, config.getString("plaza.cassandra.keyspace"),
          config.getDuration("plaza.ledger.transfers.stuck-after"), Clock.systemUTC());
      var report = check.run(settle);
      System.out.print(report.text());
      exit = report.passed() ? 0 : 1;
    } catch (RuntimeException e) {
      System.err.println("ledger-check: could not check: " + e.getMessage());
      exit = 2;
    } finally {
      system.terminate();
    }
    System.exit(exit);
  }
}
