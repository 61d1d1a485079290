package io.plaza.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.doIf;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.rendezVous;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.header;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ledger: wallet owners open an account each, fund it, then pay other accounts at a fixed rate with an
 * Idempotency-Key per transfer; every 20th transfer is sent a second time with the same key, as a client does after
 * a lost answer, and must be answered as a replay (200, {@code Idempotent-Replayed: true}), never applied twice.
 * With {@code -Dledger.hot=N} every payment goes to one of N merchant accounts instead (the hot-account case).
 *
 * <p>Measured as Gatling requests: {@code transfer} (201 completed, or 202 still running) and {@code transfer
 * retry}. Afterwards run the invariant checker ({@code bin/ledger-check}; bin/bench does).
 *
 * <p>Parameters: {@code -Dusers} payers (200), {@code -Drate} transfers/s per payer (2), {@code -Dduration} (60 s),
 * {@code -Dledger.hot} merchants (0: pay random accounts).
 *
 * <p>With {@code -Dledger.floor=true} each payer reads its own account ({@code GET /v1/accounts/{id}}: an
 * authenticated request, one ask of the loaded account entity, JSON out, no storage) at the same rate instead of
 * paying, measured as {@code account read (floor)}: the node's CPU for the part of a transfer every design over Pekko
 * HTTP and sharding pays, which {@code bin/bench} prints beside a transfer's.
 */
public class LedgerSimulation extends Simulation {

  private final int payers = Plaza.users(200);
  private final double rate = Plaza.rate(2);
  private final int hot = Integer.getInteger("ledger.hot", 0);
  /** The floor: each payer reads its own account instead of paying (see the class comment). */
  private final boolean floor = Boolean.getBoolean("ledger.floor");
  private static final long FUNDS = 100_000_000;

  /** Accounts that can be paid: every payer's (random pairs), or the merchants' (hot). */
  private static final List<String> payees = new CopyOnWriteArrayList<>();

  private static ChainBuilder openAccount(String userKey, String idKey) {
    return exec(http("open account").post("/v1/accounts").header("Authorization", Plaza.bearer(userKey))
            .body(StringBody("{\"currency\":\"EUR\"}"))
            .check(status().is(201), jsonPath("$.accountId").saveAs(idKey)))
        .exec(http("deposit").post("/v1/accounts/#{" + idKey + "}/deposits").header("Authorization",
                Plaza.bearer(userKey)).header("Idempotency-Key", "fund")
            .body(StringBody("{\"amount\":" + FUNDS + "}")).check(status().is(201)));
  }

  private Session choosePayee(Session s) {
    String to;
    do {
      to = payees.get(ThreadLocalRandom.current().nextInt(payees.size()));
    } while (to.equals(s.getString("account")) && payees.size() > 1);
    long n = s.getLong("n") + 1;
    return s.set("to", to).set("amount", 1 + ThreadLocalRandom.current().nextInt(100)).set("n", n)
        .set("key", "t-" + n);
  }

  private final ScenarioBuilder merchants = scenario("merchants")
      .exec(s -> s.set("merchant", "lm-" + Plaza.RUN + "-" + s.userId()))
      .exec(Plaza.login("merchant"))
      .exec(openAccount("merchant", "account"))
      .exec(s -> {
        payees.add(s.getString("account"));
        return s;
      });

  private final ScenarioBuilder transfers = scenario(hot > 0 ? "transfers to " + hot + " hot accounts"
      : "transfers between random accounts")
      .exec(s -> s.set("payer", "lp-" + Plaza.RUN + "-" + s.userId()).set("n", 0L))
      .exec(Plaza.login("payer"))
      .exec(openAccount("payer", "account"))
      .exec(s -> {
        if (hot == 0) payees.add(s.getString("account"));
        return s;
      })
      // Everyone pays once every account is open (and the merchants are).
      .exec(rendezVous(payers))
      .exec(doIf(s -> floor).then(during(Plaza.DURATION).on(pace(Duration.ofMillis((long) (1000 / rate)))
          .exec(http("account read (floor)").get("/v1/accounts/#{account}").header("Authorization",
              Plaza.bearer("payer")).check(status().is(200))))))
      .exec(doIf(s -> !floor).then(during(Plaza.DURATION).on(pace(Duration.ofMillis((long) (1000 / rate)))
          .exec(this::choosePayee)
          .exec(http("transfer").post("/v1/transfers").header("Authorization", Plaza.bearer("payer"))
              .header("Idempotency-Key", "#{key}")
              .body(StringBody("{\"from\":\"#{account}\",\"to\":\"#{to}\",\"amount\":#{amount},\"currency\":\"EUR\"}"))
              .check(status().in(201, 202), jsonPath("$.transferId").saveAs("transferId")))
          .exec(doIf(s -> s.getLong("n") % 20 == 0).then(
              exec(http("transfer retry").post("/v1/transfers").header("Authorization", Plaza.bearer("payer"))
                  .header("Idempotency-Key", "#{key}")
                  .body(StringBody("{\"from\":\"#{account}\",\"to\":\"#{to}\",\"amount\":#{amount},"
                      + "\"currency\":\"EUR\"}"))
                  .check(status().in(200, 202), header("Idempotent-Replayed").is("true"),
                      jsonPath("$.transferId").isEL("#{transferId}"))))))));

  {
    System.out.printf("ledger: %d payers, %.1f transfers/s each = %.0f/s offered, %s, payees: %s%n", payers, rate,
        payers * rate, Plaza.DURATION, hot > 0 ? hot + " hot merchant accounts" : "random accounts");
    if (hot > 0) {
      setUp(merchants.injectOpen(rampUsers(hot).during(Duration.ofSeconds(1)))
              .andThen(transfers.injectOpen(rampUsers(payers).during(Plaza.RAMP))))
          .protocols(Plaza.protocol());
    } else {
      setUp(transfers.injectOpen(rampUsers(payers).during(Plaza.RAMP))).protocols(Plaza.protocol());
    }
  }
}
