package io.plaza.platform;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.apache.pekko.http.cors.javadsl.CorsDirectives;
import org.apache.pekko.http.cors.javadsl.CorsRejection;
import org.apache.pekko.http.cors.javadsl.model.HttpOriginMatcher;
import org.apache.pekko.http.cors.javadsl.settings.CorsSettings;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpOrigin;
import org.apache.pekko.http.javadsl.model.headers.Origin;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Which web pages may use the API: a page of the node's own origin always; pages of the configured origins across
 * origins, by CORS (pekko-http-cors: preflights answered, headers added); any other origin is refused, and its
 * WebSocket upgrades too (Cross-Site WebSocket Hijacking), with a problem; so is {@code Origin: null}. Requests
 * without an Origin (not from a browser page) pass untouched.
 */
public final class BrowserAccess {

  private final List<String> allowedOrigins;
  private final CorsSettings cors;

  public BrowserAccess(List<String> allowedOrigins, CorsSettings base) {
    this.allowedOrigins = allowedOrigins.stream().map(BrowserAccess::normalized).toList();
    this.cors = base.withAllowedOrigins(HttpOriginMatcher.create(
        allowedOrigins.stream().map(HttpOrigin::parse).toArray(HttpOrigin[]::new)));
  }

  /** From {@code plaza.http.cors-origins} (comma-separated) and the {@code pekko.http.cors} settings. */
  public static BrowserAccess fromConfig(com.typesafe.config.Config config) {
    var origins = Arrays.stream(config.getString("plaza.http.cors-origins").split(","))
        .map(String::strip).filter(o -> !o.isEmpty()).toList();
    for (var origin : origins) {
      if (!origin.matches("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")) {
        throw new IllegalArgumentException("PLAZA_CORS_ORIGINS: '" + origin + "' is not scheme://host[:port]");
      }
    }
    return new BrowserAccess(origins, CorsSettings.create(config));
  }

  public Route route(Supplier<Route> inner) {
    return extractRequest(request -> {
      var origin = request.getHeader(Origin.class);
      if (origin.isEmpty()) return inner.get();
      // `Origin: null` (a sandboxed frame, a file:// page) is an origin too, and never an allowed one.
      var origins = origin.get().getOrigins().iterator();
      var from = origins.hasNext() ? normalized(origins.next().toString()) : "null";
      if (from.equals(ownOrigin(request))) return inner.get();
      if (isWebSocketUpgrade(request) && !allowedOrigins.contains(from)) {
        return Problems.complete(StatusCodes.FORBIDDEN, "WebSocket connections from origin " + from
            + " are not allowed (PLAZA_CORS_ORIGINS)");
      }
      return handleRejections(REFUSED, () -> CorsDirectives.cors(cors, inner));
    });
  }

  private static final RejectionHandler REFUSED = RejectionHandler.newBuilder()
      .handle(CorsRejection.class, r -> Problems.complete(StatusCodes.FORBIDDEN,
          "cross-origin request refused: " + r.cause().description() + " (PLAZA_CORS_ORIGINS lists the allowed origins)"))
      .build();

  /**
   * The origin the request was addressed to (its Host header), as a page served from it would send it. The server
   * gives a WebSocket upgrade a ws:// or wss:// URI: its page's origin is http:// or https://.
   */
  private static String ownOrigin(HttpRequest request) {
    var uri = request.getUri();
    var scheme = switch (uri.scheme()) {
      case "ws" -> "http";
      case "wss" -> "https";
      default -> uri.scheme();
    };
    int port = uri.port();
    boolean defaultPort = port == 0 || ("http".equals(scheme) && port == 80) || ("https".equals(scheme) && port == 443);
    return normalized(scheme + "://" + uri.host().address() + (defaultPort ? "" : ":" + port));
  }

  private static boolean isWebSocketUpgrade(HttpRequest request) {
    return request.getHeader("Upgrade").map(h -> h.value().equalsIgnoreCase("websocket")).orElse(false);
  }

  private static String normalized(String origin) {
    var o = origin.toLowerCase(Locale.ROOT);
    if (o.startsWith("http://") && o.endsWith(":80")) return o.substring(0, o.length() - 3);
    if (o.startsWith("https://") && o.endsWith(":443")) return o.substring(0, o.length() - 4);
    return o;
  }
}
