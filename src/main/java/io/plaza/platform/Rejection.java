package io.plaza.platform;

/**
 * Why an entity refused a command, in terms the HTTP layer maps to one status code. Entities reply with this
 * instead of exceptions so the reason survives serialization between nodes.
 */
public record Rejection(Kind kind, String detail) implements CborSerializable {

  public enum Kind {
    NOT_FOUND(404),
    FORBIDDEN(403),
    CONFLICT(409),
    UNPROCESSABLE(422),
    BAD_REQUEST(400),
    /** Not the caller's fault: an entity did not answer in time. Retry. */
    UNAVAILABLE(503);

    public final int status;

    Kind(int status) {
      this.status = status;
    }
  }

  public static Rejection notFound(String detail) {
    return new Rejection(Kind.NOT_FOUND, detail);
  }

  public static Rejection forbidden(String detail) {
    return new Rejection(Kind.FORBIDDEN, detail);
  }

  public static Rejection conflict(String detail) {
    return new Rejection(Kind.CONFLICT, detail);
  }

  public static Rejection unprocessable(String detail) {
    return new Rejection(Kind.UNPROCESSABLE, detail);
  }

  public static Rejection badRequest(String detail) {
    return new Rejection(Kind.BAD_REQUEST, detail);
  }
}
