package io.plaza.platform;

import java.util.Locale;

/**
 * A kind of refusal a client can act on without reading English: the stable, machine-readable {@code code} of a
 * problem response or a WebSocket error frame ("insufficient-funds"). Each domain lists its own as an enum; the codes
 * are part of the API (documented in openapi.yaml's {@code ProblemCode}), so a constant is never renamed.
 */
public interface ProblemCode {

  /** The enum constant's name in kebab case: INSUFFICIENT_FUNDS is "insufficient-funds". */
  String name();

  default String code() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The problem's {@code type}: a URN per code (RFC 9457 allows a non-resolvable URI). */
  static String type(String code) {
    return "urn:plaza:problem:" + code;
  }

  /** The problem's {@code title}, a short summary of the kind: "insufficient-funds" is "Insufficient funds". */
  static String title(String code) {
    var words = code.replace('-', ' ');
    return words.isEmpty() ? words : Character.toUpperCase(words.charAt(0)) + words.substring(1);
  }

  /** The codes every part of the API may answer with: input errors and refusals no domain names more precisely. */
  enum Common implements ProblemCode {
    INVALID_REQUEST,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    CONFLICT,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    UNPROCESSABLE,
    RATE_LIMITED,
    INTERNAL_ERROR,
    UNAVAILABLE;

    /** The code of a response that names none: by its status. */
    public static Common forStatus(int status) {
      return switch (status) {
        case 400 -> INVALID_REQUEST;
        case 401 -> UNAUTHORIZED;
        case 403 -> FORBIDDEN;
        case 404 -> NOT_FOUND;
        case 405 -> METHOD_NOT_ALLOWED;
        case 406 -> NOT_ACCEPTABLE;
        case 409 -> CONFLICT;
        case 413 -> PAYLOAD_TOO_LARGE;
        case 415 -> UNSUPPORTED_MEDIA_TYPE;
        case 422 -> UNPROCESSABLE;
        case 429 -> RATE_LIMITED;
        case 503, 504 -> UNAVAILABLE;
        default -> status >= 500 ? INTERNAL_ERROR : INVALID_REQUEST;
      };
    }
  }
}
