package io.plaza.platform;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractUnmatchedPath;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.mapRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;
import static org.apache.pekko.http.javadsl.server.Directives.method;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.reject;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeoutResponse;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the endpoint tables of all domains into one route: request ids, access log, error mapping, then per endpoint
 * method match, bearer-token authentication and the per-user rate limit.
 */
public final class HttpApi {

  private static final Logger accessLog = LoggerFactory.getLogger("plaza.access");
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final String BEARER = "Bearer ";

  /** Redeems a stream ticket: the user it was issued to, or why not ({@link StreamTickets#redeem}). */
  public interface TicketRedeemer {
    java.util.concurrent.CompletionStage<JwtAuth.Verdict> redeem(String ticket);
  }

  private final List<Endpoint> endpoints;
  private final JwtAuth auth;
  private final TicketRedeemer tickets;
  private final BrowserAccess browsers;
  private final RateLimiter rateLimiter;
  private final Metrics metrics;

  public HttpApi(List<Endpoint> endpoints, JwtAuth auth, TicketRedeemer tickets, BrowserAccess browsers,
      RateLimiter rateLimiter, Metrics metrics) {
    this.endpoints = List.copyOf(endpoints);
    this.auth = auth;
    this.tickets = tickets;
    this.browsers = browsers;
    this.rateLimiter = rateLimiter;
    this.metrics = metrics;
  }

  public List<Endpoint> endpoints() {
    return endpoints;
  }

  private static final org.apache.pekko.http.javadsl.model.HttpResponse REQUEST_TIMED_OUT = Problems.response(
      StatusCodes.SERVICE_UNAVAILABLE, "no answer within the request timeout; retry (with the same Idempotency-Key "
          + "where the request has one)", List.<org.apache.pekko.http.javadsl.model.HttpHeader>of(
          RetryAfter.create(1L)));

  public Route route() {
    var api = dispatchByPathPrefix();
    // A request still unanswered at pekko.http.server.request-timeout gets a problem too, not Pekko's plain text.
    return withRequestId(requestId ->
        logged(requestId,
            withRequestTimeoutResponse(request -> REQUEST_TIMED_OUT, () ->
                handleExceptions(ErrorMapper.exceptionHandler(), () ->
                    handleRejections(ErrorMapper.rejectionHandler(), () -> browsers.route(() -> api))))));
  }

  /**
   * The endpoints' routes, tried in order as one {@code concat} would, but only those whose path can match: a request
   * picks its candidates by its first two path segments ({@code /v1/accounts}) from a table built once, instead of
   * trying every endpoint's pattern in turn (that scan was about 0.6 % of a transfer's node CPU: see BENCHMARKS.md).
   */
  private Route dispatchByPathPrefix() {
    var byPrefix = new java.util.HashMap<String, List<Endpoint>>();
    for (var endpoint : endpoints) byPrefix.putIfAbsent(prefixOf(endpoint.template()), new java.util.ArrayList<>());
    var anyPrefix = endpoints.stream().filter(e -> prefixOf(e.template()).contains("{")).toList();
    for (var endpoint : endpoints) {
      var prefix = prefixOf(endpoint.template());
      // A template with a parameter in its first two segments is a candidate for every prefix.
      byPrefix.forEach((key, list) -> {
        if (key.equals(prefix) || anyPrefix.contains(endpoint)) list.add(endpoint);
      });
    }
    var routes = new java.util.IdentityHashMap<Endpoint, Route>();
    endpoints.forEach(e -> routes.put(e, routeFor(e)));
    var table = new java.util.HashMap<String, Route>();
    byPrefix.forEach((key, list) -> table.put(key, tryInOrder(list, routes)));
    Route otherwise = tryInOrder(anyPrefix, routes);
    return extractUnmatchedPath(path -> table.getOrDefault(prefixOf(path), otherwise));
  }

  private static Route tryInOrder(List<Endpoint> candidates, Map<Endpoint, Route> routes) {
    if (candidates.isEmpty()) return reject();
    var tried = candidates.stream().map(routes::get).toArray(Route[]::new);
    return tried.length == 1 ? tried[0] : concat(tried[0], java.util.Arrays.copyOfRange(tried, 1, tried.length));
  }

  /** A path or template up to its third slash: {@code /v1/accounts/42/balance} → {@code /v1/accounts}. */
  static String prefixOf(String path) {
    int second = path.indexOf('/', 1);
    int third = second < 0 ? -1 : path.indexOf('/', second + 1);
    return third < 0 ? path : path.substring(0, third);
  }

  private Route routeFor(Endpoint endpoint) {
    return extractUnmatchedPath(path -> {
      var params = endpoint.match(path);
      if (params == null) return reject();
      return method(endpoint.method(), () -> extractRequest(request -> {
        // The metrics' route label: the template, never the ids in the path (rejections included).
        request.getAttribute(ROUTE).ifPresent(route -> route.set(endpoint.template()));
        return endpoint.requiresAuthentication()
            ? authenticated(endpoint.acceptsStreamTicket(),
                user -> limited(user.userId(), () -> endpoint.handler().apply(
                    new Endpoint.Call(params, user.userId(), user.admin()))))
            : endpoint.handler().apply(new Endpoint.Call(params, null));
      }));
    });
  }

  /** The template of the endpoint that matched a request, set by the endpoint's route and read by {@link #logged}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static final AttributeKey<AtomicReference<String>> ROUTE =
      (AttributeKey) AttributeKey.create("plaza-route", AtomicReference.class);

  /**
   * 401 with a reason when the bearer token is missing, malformed, expired or forged. A stream endpoint takes a
   * stream ticket ({@code ?ticket=}) instead, refused when unknown, expired or used before.
   */
  private Route authenticated(boolean acceptsTicket, Function<JwtAuth.Authenticated, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      if (header.isPresent() && header.get().regionMatches(true, 0, BEARER, 0, BEARER.length())) {
        return verdict(auth.verify(header.get().substring(BEARER.length()).strip()), inner);
      }
      if (!acceptsTicket) return unauthorized("missing bearer token (Authorization: Bearer <jwt>)");
      return parameterOptional("ticket", ticket -> ticket.isEmpty()
          ? unauthorized("missing bearer token (Authorization: Bearer <jwt>) or stream ticket (?ticket=, from POST "
              + "/v1/stream-tickets)")
          : onSuccess(tickets.redeem(ticket.get()).exceptionally(e ->
              new JwtAuth.Refused("stream ticket could not be checked; ask for a new one")), v -> verdict(v, inner)));
    });
  }

  private static Route verdict(JwtAuth.Verdict verdict, Function<JwtAuth.Authenticated, Route> inner) {
    if (verdict instanceof JwtAuth.Authenticated ok) return inner.apply(ok);
    return unauthorized(((JwtAuth.Refused) verdict).reason());
  }

  private static Route unauthorized(String detail) {
    return complete(Problems.response(StatusCodes.UNAUTHORIZED, detail,
        List.of(WWWAuthenticate.create(HttpChallenge.create("Bearer", "plaza")))));
  }

  private Route limited(String user, java.util.function.Supplier<Route> inner) {
    long wait = rateLimiter.secondsToWait(user);
    if (wait == 0) return inner.get();
    return complete(Problems.response(StatusCodes.TOO_MANY_REQUESTS,
        "rate limit exceeded for user " + user + "; retry in " + wait + " s", List.of(RetryAfter.create(wait))));
  }

  /** Echo the caller's X-Request-Id (or a new one) on every response. */
  private static Route withRequestId(Function<String, Route> inner) {
    return optionalHeaderValueByName("X-Request-Id", given -> {
      var id = given.filter(v -> REQUEST_ID.matcher(v).matches()).orElseGet(() -> UUID.randomUUID().toString());
      return respondWithHeader(RawHeader.create("X-Request-Id", id), () -> inner.apply(id));
    });
  }

  /** Access log line and HTTP metrics per response. */
  private Route logged(String requestId, Route inner) {
    return extractRequest(request -> {
      long start = System.nanoTime();
      var route = new AtomicReference<>("unmatched");
      return mapResponse(response -> {
        metrics.httpResponse(request.method().name(), route.get(), response.status().intValue(),
            System.nanoTime() - start);
        if (accessLog.isInfoEnabled()) {
          accessLog.atInfo()
              .addKeyValue("requestId", requestId)
              .addKeyValue("method", request.method().name())
              .addKeyValue("path", request.getUri().path())
              .addKeyValue("status", response.status().intValue())
              .addKeyValue("micros", (System.nanoTime() - start) / 1000)
              .log("{} {} {}", request.method().name(), request.getUri().path(), response.status().intValue());
        }
        return response;
      }, () -> mapRequest(r -> r.addAttribute(ROUTE, route), () -> inner));
    });
  }
}
