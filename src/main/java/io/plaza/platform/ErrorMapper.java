package io.plaza.platform;

import java.util.List;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.pattern.AskTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where rejections and exceptions become responses: always application/problem+json with a detail,
 * never a stack trace or Pekko's plain-text defaults.
 */
public final class ErrorMapper {

  private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);

  private ErrorMapper() {}

  public static RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handle(MalformedRequestContentRejection.class, r -> malformed(r.getCause()))
        .handleNotFound(Problems.complete(StatusCodes.NOT_FOUND, "no such resource"))
        .build()
        // Pekko's defaults pick the right status for everything else (405 with Allow, 415, 400…); only the body
        // is rewritten into a problem.
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(ErrorMapper::asProblem);
  }

  public static ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(AskTimeoutException.class, e -> unavailable())
        .match(TimeoutException.class, e -> unavailable())
        .match(EntityStreamSizeException.class, e -> tooLarge(e))
        .matchAny(e -> {
          log.error("unhandled error in a route", e);
          return Problems.complete(StatusCodes.INTERNAL_SERVER_ERROR, "internal error; the request id identifies it");
        })
        .build();
  }

  private static Route malformed(Throwable cause) {
    for (var c = cause; c != null; c = c.getCause()) {
      if (c instanceof EntityStreamSizeException size) return tooLarge(size);
      if (c instanceof Json.MalformedJson json) return Problems.badRequest(json.getMessage());
    }
    return Problems.badRequest("request body could not be read: " + cause.getMessage());
  }

  private static Route tooLarge(EntityStreamSizeException e) {
    return Problems.complete(StatusCodes.PAYLOAD_TOO_LARGE,
        "request body exceeds the limit of " + e.limit() + " bytes");
  }

  /** The entity did not answer in time: safe to retry soon (commands are idempotent by their keys). */
  private static Route unavailable() {
    return Directives.complete(Problems.response(StatusCodes.SERVICE_UNAVAILABLE,
        "the service did not answer in time; retry shortly", List.of(RetryAfter.create(1L))));
  }

  private static HttpResponse asProblem(HttpResponse response) {
    if (Problems.isProblem(response)) return response;
    StatusCode status = response.status();
    String detail = response.entity().isStrict()
        ? ((org.apache.pekko.http.javadsl.model.HttpEntity.Strict) response.entity()).getData().utf8String().strip()
        : status.reason();
    return Problems.response(status, detail.isEmpty() ? status.reason() : detail, response.getHeaders());
  }
}
