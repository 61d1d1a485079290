package io.plaza.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.randomSwitch;
import static io.gatling.javaapi.core.CoreDsl.rendezVous;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.percent;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Timelines: users follow others, then each, at a fixed rate, mostly reads the home timeline (80 %), posts (15 %) or
 * reads someone's posts (5 %), as a feed app does.
 *
 * <p>Measured as Gatling requests: {@code home timeline}, {@code post}, {@code user posts}, {@code follow}.
 *
 * <p>Parameters: {@code -Dusers} (500), {@code -Drate} actions/s per user (1), {@code -Dduration} (60 s),
 * {@code -Dtimeline.follows} followees per user (20).
 */
public class TimelineSimulation extends Simulation {

  private final int users = Plaza.users(500);
  private final double rate = Plaza.rate(1);
  private final int follows = Integer.getInteger("timeline.follows", 20);

  private String user(int n) {
    return "tu-" + Plaza.RUN + "-" + n;
  }

  /** Someone else than the session's user. */
  private String other(io.gatling.javaapi.core.Session s) {
    int me = (int) s.userId();
    int n = 1 + ThreadLocalRandom.current().nextInt(users - 1);
    return user(n >= me ? n + 1 : n);
  }

  private final ScenarioBuilder feed = scenario("timeline")
      .exec(s -> s.set("me", user((int) s.userId())).set("posts", 0))
      .exec(Plaza.login("me"))
      // The first home read registers the user (and counts as activity for the fan-out).
      .exec(http("home timeline").get("/v1/timeline/home?limit=20").header("Authorization", Plaza.bearer("me"))
          .check(status().is(200)))
      .exec(rendezVous(users))
      .exec(repeat(follows).on(exec(s -> s.set("other", other(s))).exec(
          http("follow").put("/v1/users/#{me}/following/#{other}").header("Authorization", Plaza.bearer("me"))
              .check(status().in(200, 201, 202, 204)))))
      .exec(during(Plaza.DURATION).on(pace(Duration.ofMillis((long) (1000 / rate))).exec(randomSwitch().on(
          percent(80.0).then(exec(http("home timeline").get("/v1/timeline/home?limit=20")
              .header("Authorization", Plaza.bearer("me"))
              .check(status().is(200), jsonPath("$.items").exists()))),
          percent(15.0).then(exec(s -> s.set("posts", s.getInt("posts") + 1)).exec(http("post").post("/v1/posts")
              .header("Authorization", Plaza.bearer("me")).header("Idempotency-Key", "p-#{posts}")
              .body(StringBody("{\"text\":\"post #{posts} by #{me}\"}"))
              .check(status().is(201)))),
          percent(5.0).then(exec(s -> s.set("other", other(s)))
              .exec(http("user posts").get("/v1/users/#{other}/posts?limit=20")
                  .header("Authorization", Plaza.bearer("me")).check(status().is(200))))))));

  {
    System.out.printf("timeline: %d users following %d each, %.1f actions/s each (80 %% home reads) = %.0f/s, %s%n",
        users, follows, rate, users * rate, Plaza.DURATION);
    setUp(feed.injectOpen(rampUsers(users).during(Plaza.RAMP))).protocols(Plaza.protocol());
  }
}
