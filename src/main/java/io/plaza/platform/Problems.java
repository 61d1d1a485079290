package io.plaza.platform;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/** RFC 9457 problem details: the one shape every error response of the API has. */
public final class Problems {

  public static final ContentType.WithFixedCharset PROBLEM_JSON =
      ContentTypes.create(MediaTypes.applicationWithFixedCharset("problem+json", HttpCharsets.UTF_8));

  /**
   * The body. {@code code} (an extension member) and {@code type} (its URN) name the kind of problem a client acts
   * on, the same in every response and WebSocket error frame; {@code detail} says why, for people.
   */
  public record Problem(String type, String title, int status, String detail, String code) {}

  private Problems() {}

  /** A problem with the code its status implies (input errors, unknown paths, limits). */
  public static HttpResponse response(StatusCode status, String detail) {
    return response(status, detail, List.of());
  }

  public static HttpResponse response(StatusCode status, String detail, Iterable<HttpHeader> headers) {
    return response(status, ProblemCode.Common.forStatus(status.intValue()).code(), detail, headers);
  }

  public static HttpResponse response(StatusCode status, String code, String detail, Iterable<HttpHeader> headers) {
    // A detail may echo client input (an unknown field name): never let a lone surrogate break the response.
    var problem = new Problem(ProblemCode.type(code), ProblemCode.title(code), status.intValue(),
        StorableValues.printable(detail), code);
    return HttpResponse.create()
        .withStatus(status)
        .addHeaders(headers)
        .withEntity(HttpEntities.create(PROBLEM_JSON, Json.write(problem)));
  }

  /** An entity's refusal: its kind's status, its code. */
  public static HttpResponse response(Rejection rejection) {
    return response(StatusCodes.get(rejection.kind().status), rejection.code(), rejection.detail(), List.of());
  }

  public static Route complete(StatusCode status, String detail) {
    return Directives.complete(response(status, detail));
  }

  public static Route complete(StatusCode status, ProblemCode code, String detail) {
    return Directives.complete(response(status, code.code(), detail, List.of()));
  }

  public static Route complete(Rejection rejection) {
    return Directives.complete(response(rejection));
  }

  public static Route badRequest(String detail) {
    return complete(StatusCodes.BAD_REQUEST, detail);
  }

  public static boolean isProblem(HttpResponse response) {
    return response.entity().getContentType().equals(PROBLEM_JSON);
  }
}
