package io.plaza.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * What every Plaza simulation shares: the target node, the parameters (system properties, so
 * {@code mvn gatling:test -Dusers=… -Drate=… -Dduration=…} sets them) and logging in as a client does.
 */
final class Plaza {

  private Plaza() {}

  /** The node(s) under test, e.g. {@code -Dplaza.url=http://127.0.0.1:8080} (comma-separated for a cluster). */
  static final String URL = System.getProperty("plaza.url", "http://127.0.0.1:8080");
  /** A prefix for this run's user ids, so runs against the same cluster never share entities. */
  static final String RUN = System.getProperty("plaza.run", Long.toString(System.currentTimeMillis(), 36));
  /** How long each simulation keeps its load on, after the ramp. */
  static final Duration DURATION = Duration.ofSeconds(Long.getLong("duration", 60));
  /** The ramp: how long until every user is active. */
  static final Duration RAMP = Duration.ofSeconds(Long.getLong("ramp", 10));

  static int users(int fallback) {
    return Integer.getInteger("users", fallback);
  }

  static double rate(double fallback) {
    return Double.parseDouble(System.getProperty("rate", Double.toString(fallback)));
  }

  /** One node, or several comma-separated: each virtual user then talks to one of them, round robin. */
  static HttpProtocolBuilder protocol() {
    var urls = URL.split(",");
    return http.baseUrls(urls)
        .wsBaseUrls(java.util.Arrays.stream(urls).map(u -> u.replaceFirst("^http", "ws")).toList())
        .acceptHeader("application/json")
        .contentTypeHeader("application/json")
        .shareConnections()
        .warmUp(urls[0] + "/v1/openapi.yaml");
  }

  /**
   * The secret of a production-mode node under test (PLAZA_JWT_SECRET with PLAZA_DEV_MODE=off): tokens are then
   * minted here, before the load, as an identity provider would issue them; null for a dev-mode node.
   */
  private static final String PRODUCTION_SECRET = "off".equals(System.getenv("PLAZA_DEV_MODE"))
      ? System.getenv("PLAZA_JWT_SECRET") : null;

  /**
   * Logs in as the user in session attribute {@code userKey}, saving the bearer token as {@code <userKey>Token}: the
   * dev login of a dev-mode node, or against a production-mode node a token minted here with its secret.
   */
  static ChainBuilder login(String userKey) {
    if (PRODUCTION_SECRET != null) {
      return exec(session -> session.set(userKey + "Token", mint(session.getString(userKey))));
    }
    return exec(http("login").post("/v1/dev/tokens")
        .body(StringBody("{\"userId\":\"#{" + userKey + "}\"}"))
        .check(status().is(201), jsonPath("$.token").saveAs(userKey + "Token")));
  }

  /** An HS256 token for {@code user} as the node checks them (issuer "plaza", a day long). */
  static String mint(String user) {
    try {
      var now = java.time.Instant.now();
      var header = new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256);
      var jwt = new com.nimbusds.jwt.SignedJWT(header,
          new com.nimbusds.jwt.JWTClaimsSet.Builder().subject(user).issuer("plaza")
              .issueTime(java.util.Date.from(now)).expirationTime(java.util.Date.from(now.plus(Duration.ofDays(1))))
              .build());
      var secret = PRODUCTION_SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      jwt.sign(new com.nimbusds.jose.crypto.MACSigner(secret));
      return jwt.serialize();
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static String bearer(String userKey) {
    return "Bearer #{" + userKey + "Token}";
  }

  /** Latencies a simulation measures itself (Gatling has no timer across two connections' frames). */
  static final class Latencies {
    private final List<Long> micros = Collections.synchronizedList(new ArrayList<>());
    private final String name;

    Latencies(String name) {
      this.name = name;
    }

    void record(long micros) {
      this.micros.add(micros);
    }

    int count() {
      return micros.size();
    }

    /** One line: count and p50/p95/p99/max in ms (bin/bench reads it from the output). */
    String report(String extra) {
      List<Long> sorted;
      synchronized (micros) {
        sorted = new ArrayList<>(micros);
      }
      Collections.sort(sorted);
      String line = sorted.isEmpty() ? name + ": no samples" + extra : String.format(Locale.ROOT,
          "%s: %d samples, p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms%s", name, sorted.size(),
          pct(sorted, 50), pct(sorted, 95), pct(sorted, 99), sorted.get(sorted.size() - 1) / 1000.0, extra);
      return line;
    }

    private static double pct(List<Long> sorted, double p) {
      int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
      return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1000.0;
    }
  }
}
