package io.plaza.platform;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResource;

import com.typesafe.config.Config;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** Endpoints of the platform itself: the OpenAPI document and, in dev mode only, minting tokens. */
public final class PlatformRoutes {

  public record DevTokenRequest(String userId, Long ttlSeconds) {}

  public record DevTokenResponse(String userId, String token, Instant expiresAt) {}

  private PlatformRoutes() {}

  private static final java.util.regex.Pattern CONSOLE_FILE = java.util.regex.Pattern.compile("[a-z0-9-]{1,40}\\.(html|js|css)");

  private static org.apache.pekko.http.javadsl.server.Route console(String file) {
    return org.apache.pekko.http.javadsl.server.Directives.respondWithHeaders(List.of(
        org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'"),
        org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Cache-Control", "no-cache")),
        () -> org.apache.pekko.http.javadsl.server.Directives.getFromResource("console/" + file));
  }

  public static List<Endpoint> endpoints(Config config, JwtAuth auth) {
    var endpoints = new ArrayList<Endpoint>();
    // The contracts: REST (OpenAPI) and what is pushed or published (AsyncAPI: sockets, the stream, Kafka).
    for (var document : List.of("openapi.yaml", "asyncapi.yaml")) {
      endpoints.add(Endpoint.open(HttpMethods.GET, "/v1/" + document,
          call -> getFromResource(document, ContentTypes.create(
              org.apache.pekko.http.javadsl.model.MediaTypes.applicationWithFixedCharset("yaml",
                  org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8)))));
    }
    // The console: a static single-page app, fetched only from this node (the policy forbids anything else).
    endpoints.add(Endpoint.open(HttpMethods.GET, "/console", call -> console("index.html")));
    endpoints.add(Endpoint.open(HttpMethods.GET, "/console/{file}", call -> CONSOLE_FILE.matcher(call.param("file"))
        .matches() ? console(call.param("file")) : Problems.complete(StatusCodes.NOT_FOUND, "no such console file")));
    if (config.getBoolean("plaza.dev-mode")) {
      var defaultTtl = config.getDuration("plaza.auth.dev-token-ttl");
      endpoints.add(Endpoint.open(HttpMethods.POST, "/v1/dev/tokens",
          call -> entity(Json.unmarshaller(DevTokenRequest.class), req -> {
            if (req.userId() == null || !JwtAuth.USER_ID.matcher(req.userId()).matches()) {
              return Problems.badRequest("userId is required and must match " + JwtAuth.USER_ID.pattern());
            }
            if (req.ttlSeconds() != null && (req.ttlSeconds() < 1 || req.ttlSeconds() > 7 * 24 * 3600)) {
              return Problems.badRequest("ttlSeconds must be between 1 and 604800");
            }
            var ttl = req.ttlSeconds() == null ? defaultTtl : Duration.ofSeconds(req.ttlSeconds());
            return complete(StatusCodes.CREATED,
                new DevTokenResponse(req.userId(), auth.mint(req.userId(), ttl), Instant.now().plus(ttl)),
                Json.marshaller());
          })));
    }
    return endpoints;
  }
}
