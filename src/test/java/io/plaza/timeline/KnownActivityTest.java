package io.plaza.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The fan-out's and home read's memory of activity: reads only what it cannot prove, never goes backwards. */
class KnownActivityTest {

  private static final Instant T = Instant.parse("2026-12-06T10:00:00Z");

  /** The read model's `timeline_users` activity, and every user list read from it. */
  private final Map<String, Instant> readModel = new HashMap<>();
  private final List<List<String>> reads = new ArrayList<>();
  private final FollowsRepository follows = (FollowsRepository) Proxy.newProxyInstance(
      getClass().getClassLoader(), new Class<?>[] {FollowsRepository.class}, (proxy, method, args) -> {
        if (!method.getName().equals("lastActive")) throw new UnsupportedOperationException(method.getName());
        @SuppressWarnings("unchecked") var users = List.copyOf((Collection<String>) args[0]);
        reads.add(users);
        var answer = new HashMap<String, Instant>();
        for (var user : users) if (readModel.containsKey(user)) answer.put(user, readModel.get(user));
        return CompletableFuture.completedFuture(answer);
      });
  private final KnownActivity activity = new KnownActivity(follows, 100);

  private Map<String, Instant> lastActive(List<String> users, Instant activeSince) {
    return activity.lastActive(users, at -> !at.isBefore(activeSince)).toCompletableFuture().join();
  }

  @Test
  void readsOnlyTheUsersItCannotAlreadyShowToBeActive() {
    readModel.put("ann", T);
    readModel.put("bob", T.minusSeconds(3600));
    assertEquals(Map.of("ann", T, "bob", T.minusSeconds(3600)), lastActive(List.of("ann", "bob", "cy"), T.minusSeconds(60)));
    assertEquals(List.of(List.of("ann", "bob", "cy")), reads);

    reads.clear();
    // ann is known active since T; bob's known activity is too old to answer, cy was never active: both read again.
    assertEquals(Map.of("ann", T, "bob", T.minusSeconds(3600)), lastActive(List.of("ann", "bob", "cy"), T.minusSeconds(60)));
    assertEquals(List.of(List.of("bob", "cy")), reads);
  }

  @Test
  void neverGoesBackwardsAndPicksUpNewerActivity() {
    readModel.put("ann", T);
    lastActive(List.of("ann"), T.plusSeconds(1)); // not enough: read, T kept
    readModel.put("ann", T.minusSeconds(10)); // a lagging replica answers an older value
    assertEquals(T, lastActive(List.of("ann"), T.minusSeconds(1)).get("ann"), "the newer value read before stays");
    assertEquals(1, reads.size(), "and answers without a read");

    readModel.put("ann", T.plusSeconds(30)); // ann read her timeline again
    assertEquals(T.plusSeconds(30), lastActive(List.of("ann"), T.plusSeconds(20)).get("ann"));
    assertEquals(T.plusSeconds(30), lastActive(List.of("ann"), T.plusSeconds(20)).get("ann"));
    assertEquals(2, reads.size());
  }
}
