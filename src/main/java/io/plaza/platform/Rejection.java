package io.plaza.platform;

/**
 * Why an entity refused a command: a kind the HTTP layer maps to one status code, the {@link ProblemCode} a client
 * acts on, and a detail for people. Entities reply with this instead of exceptions so the reason survives
 * serialization between nodes. Some events carry one: {@code code} was added later, so one read from an older event
 * has none and gets its kind's code.
 */
public record Rejection(Kind kind, String detail, String code) implements CborSerializable {

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

  public Rejection {
    if (code == null) code = ProblemCode.Common.forStatus(kind.status).code();
  }

  public Rejection(Kind kind, String detail) {
    this(kind, detail, null);
  }

  /** The same refusal answered as another kind (a missing destination is a 422 to the payer, not a 404). */
  public Rejection as(Kind other) {
    return new Rejection(other, detail, code);
  }

  public static Rejection notFound(String detail) {
    return new Rejection(Kind.NOT_FOUND, detail);
  }

  public static Rejection notFound(ProblemCode code, String detail) {
    return new Rejection(Kind.NOT_FOUND, detail, code.code());
  }

  public static Rejection forbidden(String detail) {
    return new Rejection(Kind.FORBIDDEN, detail);
  }

  public static Rejection forbidden(ProblemCode code, String detail) {
    return new Rejection(Kind.FORBIDDEN, detail, code.code());
  }

  public static Rejection conflict(String detail) {
    return new Rejection(Kind.CONFLICT, detail);
  }

  public static Rejection conflict(ProblemCode code, String detail) {
    return new Rejection(Kind.CONFLICT, detail, code.code());
  }

  public static Rejection unprocessable(String detail) {
    return new Rejection(Kind.UNPROCESSABLE, detail);
  }

  public static Rejection unprocessable(ProblemCode code, String detail) {
    return new Rejection(Kind.UNPROCESSABLE, detail, code.code());
  }

  public static Rejection badRequest(String detail) {
    return new Rejection(Kind.BAD_REQUEST, detail);
  }
}
