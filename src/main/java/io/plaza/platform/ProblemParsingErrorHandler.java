package io.plaza.platform;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * The answer to a request so malformed that no route sees it (URI too long 414, headers too large 431, a bad request
 * line or header 400, HTTP version 505): a problem+json like every other error, not Pekko's plain text. Configured
 * as {@code pekko.http.server.parsing.error-handler}; Pekko creates it by reflection.
 */
public final class ProblemParsingErrorHandler extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.warning("refused a malformed request: {}", info.summary());
    // An unknown method is the client's error: 400, not Pekko's 501 (a 5xx would page whoever runs Plaza).
    var answered = status.intValue() == 501 ? org.apache.pekko.http.javadsl.model.StatusCodes.BAD_REQUEST : status;
    // The summary names the limit or the rule broken; the detail part may quote the request, so it is not echoed.
    return Problems.response(answered, info.summary());
  }
}
