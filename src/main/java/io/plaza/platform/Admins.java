package io.plaza.platform;

import com.typesafe.config.Config;
import java.util.Arrays;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Who may call the admin endpoints: the user ids listed in {@code plaza.auth.admin-users}, and users whose OIDC token
 * carries the admin role.
 */
public final class Admins {

  private final Set<String> userIds;

  public Admins(Set<String> userIds) {
    this.userIds = Set.copyOf(userIds);
  }

  public static Admins fromConfig(Config config) {
    return new Admins(Arrays.stream(config.getString("plaza.auth.admin-users").split(","))
        .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toSet()));
  }

  /** The inner route for an admin, else 403. */
  public Route only(Endpoint.Call call, Supplier<Route> inner) {
    if (!call.admin() && !userIds.contains(call.userId())) {
      return Problems.complete(StatusCodes.FORBIDDEN, "this endpoint is for administrators (plaza.auth.admin-users)");
    }
    return inner.get();
  }
}
