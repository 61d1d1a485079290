package io.plaza.ledger;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeaders;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.pattern.Patterns;

/**
 * The transfer API. A POST is checked here (syntax, ownership of the source, destination open and in the same
 * currency) before it reaches the Transfer entity, so a refused request starts no entity and leaves no trace. The
 * contract:
 * <ul>
 *   <li>201 Created: the transfer completed within {@code completion-wait} (200 with Idempotent-Replayed: true when
 *       the same key and body had been accepted before);
 *   <li>202 Accepted: still running (or parked for an operator), poll the {@code Location};
 *   <li>4xx problem: refused; a refusal by the source account (e.g. insufficient funds) is final for that key, and a
 *       compensated transfer (the destination refused, the source was refunded) answers 422.
 * </ul>
 */
public final class TransferRoutes {

  static final Pattern TRANSFER_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  static final int MAX_REFERENCE = 140;

  /** {@code pending}: only hold the money until posted or voided, or until {@code timeoutSeconds} have passed. */
  public record TransferRequest(
      String from, String to, Long amount, String currency, String reference, Boolean pending, Long timeoutSeconds) {}

  public record PostRequest(Long amount) {}

  static final long DEFAULT_HOLD_SECONDS = 24 * 3600;
  static final long MAX_HOLD_SECONDS = 30 * 24 * 3600;

  public record StepResponse(String name, Instant at) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TransferResponse(
      String transferId, String from, String to, long amount, String currency, String reference, boolean pending,
      Instant expiresAt, Long postedAmount, String reverses, String status, String detail, List<StepResponse> steps,
      Instant createdAt, Instant finishedAt) {

    static TransferResponse of(Transfer.View v) {
      var r = v.request();
      return new TransferResponse(v.transferId(), r.from(), r.to(), r.amount(), r.currency(), r.reference(),
          r.holdSeconds() > 0, v.expiresAt(), v.postedAmount(), r.reverses(), v.status().name(), v.detail(),
          v.steps().stream().map(s -> new StepResponse(s.name(), s.at())).toList(), v.createdAt(), v.finishedAt());
    }

    static TransferResponse of(TransferRepository.TransferRow row) {
      var r = row.request();
      return new TransferResponse(row.transferId(), r.from(), r.to(), r.amount(), r.currency(), r.reference(),
          r.holdSeconds() > 0, row.expiresAt(), row.postedAmount(), r.reverses(), row.status().name(), row.detail(),
          steps(row.steps()), row.createdAt(), row.finishedAt());
    }

    /** Steps recorded in the same millisecond (a source account debits as it records the request) keep this order. */
    private static final List<String> STEP_ORDER = List.of("requested", "held", "post requested", "void requested",
        "expired", "refused", "debited", "credit refused", "credited", "refunded", "released", "parked");

    private static List<StepResponse> steps(Map<String, Instant> steps) {
      return steps.entrySet().stream().sorted(Map.Entry.<String, Instant>comparingByValue()
              .thenComparing(e -> STEP_ORDER.indexOf(e.getKey())))
          .map(e -> new StepResponse(e.getKey(), e.getValue())).toList();
    }
  }

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final TransferRepository transfers;
  private final Duration askTimeout;
  private final AccountPrecheck prechecks;
  /** Whether plain transfers go to their source account rather than a saga entity (see {@link SourceCoordination}). */
  private final java.util.function.BooleanSupplier sourceCoordinates;

  public TransferRoutes(ActorSystem<?> system, TransferRepository transfers, Duration askTimeout,
      java.util.function.BooleanSupplier sourceCoordinates) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.transfers = transfers;
    this.askTimeout = askTimeout;
    this.prechecks = new AccountPrecheck(sharding, askTimeout);
    this.sourceCoordinates = sourceCoordinates;
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/transfers", call -> initiate(call.userId())),
        Endpoint.get("/v1/transfers/{id}", call -> get(call.userId(), call.param("id"))),
        // Commands on a transfer ask its entity, which knows it from the moment its POST was answered (the read model
        // trails by a second) and checks who asks.
        Endpoint.post("/v1/transfers/{id}/post", call -> validId(call.param("id"),
            id -> entity(Json.unmarshaller(PostRequest.class), body -> {
              if (body.amount() != null && body.amount() <= 0) {
                return Problems.badRequest("amount must be a positive integer of minor units");
              }
              long amount = body.amount() == null ? Transfer.PostPending.HELD_AMOUNT : body.amount();
              return onPending(id, "post", replyTo -> new Transfer.PostPending(call.userId(), amount, replyTo));
            }))),
        Endpoint.post("/v1/transfers/{id}/void", call -> validId(call.param("id"),
            id -> onPending(id, "void", replyTo -> new Transfer.VoidPending(call.userId(), replyTo)))),
        Endpoint.post("/v1/transfers/{id}/reversal", call -> reverse(call.userId(), call.param("id"))));
  }

  private Route initiate(String user) {
    return LedgerRoutes.requireIdempotencyKey(key -> entity(Json.unmarshaller(TransferRequest.class), body -> {
      var invalid = invalid(body);
      if (invalid != null) return Problems.complete(invalid);
      long hold = Boolean.TRUE.equals(body.pending())
          ? Optional.ofNullable(body.timeoutSeconds()).orElse(DEFAULT_HOLD_SECONDS) : 0;
      var request = new Transfer.Request(user, body.from(), body.to(), body.amount(), body.currency(),
          body.reference() == null ? "" : body.reference(), hold);
      var transferId = Transfer.idFor(user, key);
      if (hold == 0 && sourceCoordinates.getAsBoolean()) {
        // The source account checks itself: only the destination is asked first.
        return onSuccess(prechecks.destinationRefusal(request.to(), request.currency()),
            refusal -> send(transferId, request, refusal, false));
      }
      return startUnlessRefused(precheck(request), madeBy(transferId, user), () -> start(transferId, request));
    }));
  }

  /**
   * Starts the saga when the pre-check passed. When it refused, the request may still be the retry of one accepted
   * earlier (an account closed since): if {@code accepted} says so, the entity gives its first answer.
   */
  static Route startUnlessRefused(CompletionStage<Rejection> precheck,
      java.util.function.Supplier<CompletionStage<Boolean>> accepted, java.util.function.Supplier<Route> start) {
    return onSuccess(precheck, refusal -> refusal == null ? start.get()
        : onSuccess(accepted.get(), earlier -> earlier ? start.get() : Problems.complete(refusal)));
  }

  /**
   * A post or void: asks the transfer's saga entity. Pending transfers always have one; a transfer its source account
   * coordinated has none, but its row says it exists.
   */
  private Route onPending(String transferId, String verb,
      Function<ActorRef<Transfer.Reply>, Transfer.Command> command) {
    CompletionStage<Transfer.Reply> reply = sharding.entityRefFor(Transfer.ENTITY_KEY, transferId)
        .ask(command::apply, askTimeout);
    return onSuccess(reply.thenCompose(r -> !notFound(r) ? CompletableFuture.completedFuture(r)
            : transfers.find(transferId).thenApply(row -> row.<Transfer.Reply>map(x -> new Transfer.Rejected(
                Rejection.conflict(LedgerProblem.NOT_PENDING,
                    "transfer " + transferId + " is not a pending transfer: there is nothing to " + verb)))
                .orElse(r))),
        r -> respond(transferId, r, StatusCodes.OK));
  }

  private static boolean notFound(Transfer.Reply reply) {
    return reply instanceof Transfer.Rejected r && r.rejection().kind() == Rejection.Kind.NOT_FOUND;
  }

  /**
   * The transfer a reversal gives back: its saga entity knows it from its first answer on. A transfer its source
   * account coordinated has no entity of its own: its row stands for it — final once COMPLETED — waited for up to
   * {@link #READ_MODEL_WAIT} while the read model catches up (it trails by a second or two).
   */
  private CompletionStage<Transfer.Reply> original(String transferId) {
    return inspect(transferId).thenCompose(reply -> !notFound(reply) ? CompletableFuture.completedFuture(reply)
        : settledRow(transferId, System.nanoTime() + READ_MODEL_WAIT.toNanos())
            .thenApply(row -> row.<Transfer.Reply>map(x -> new Transfer.TransferReply(viewOf(x), false)).orElse(reply)));
  }

  static final Duration READ_MODEL_WAIT = Duration.ofSeconds(3);

  private CompletionStage<Optional<TransferRepository.TransferRow>> settledRow(String transferId, long deadline) {
    return transfers.find(transferId).thenCompose(row -> {
      if (row.filter(r -> r.status() != Transfer.Status.PENDING).isPresent() || System.nanoTime() >= deadline) {
        return CompletableFuture.completedFuture(row);
      }
      return Patterns.after(Duration.ofMillis(200), system.classicSystem().scheduler(), system.executionContext(),
          () -> settledRow(transferId, deadline));
    });
  }

  private static Transfer.View viewOf(TransferRepository.TransferRow row) {
    var steps = TransferResponse.of(row).steps().stream().map(s -> new Transfer.Step(s.name(), s.at())).toList();
    return new Transfer.View(row.transferId(), row.request(), row.status(), row.detail(), null, steps,
        row.createdAt(), row.finishedAt(), row.expiresAt(), row.postedAmount());
  }

  /** The transfer's entity, asked whoever made it (an unknown id answers Rejected, and leaves memory). */
  private CompletionStage<Transfer.Reply> inspect(String transferId) {
    return sharding.entityRefFor(Transfer.ENTITY_KEY, transferId).ask(Transfer.Inspect::new, askTimeout);
  }

  /**
   * Whether the transfer entity holds a request of this caller: a retry is recognised the moment its first request
   * was answered (then the entity answers it, or refuses another body with 409). A reversal's id follows from the
   * original alone, so someone else's reversal is not theirs to retry.
   */
  private java.util.function.Supplier<CompletionStage<Boolean>> madeBy(String transferId, String requester) {
    return () -> inspect(transferId).thenApply(reply -> reply instanceof Transfer.TransferReply made
        && made.transfer().request().requester().equals(requester));
  }

  /**
   * Gives a completed transfer's money back with a new, compensating transfer from its destination to its source;
   * the original stays as it was. Asked by the destination's owner (it is their money that moves). One reversal per
   * transfer: its id follows from the original's, so retries land on the same reversal.
   */
  private Route reverse(String user, String transferId) {
    return validId(transferId, id -> onSuccess(original(id), reply -> {
      if (reply instanceof Transfer.Rejected rejected) return Problems.complete(rejected.rejection());
      var original = ((Transfer.TransferReply) reply).transfer();
      if (original.status() != Transfer.Status.COMPLETED) {
        return Problems.complete(StatusCodes.CONFLICT, LedgerProblem.NOT_REVERSIBLE,
            "only a completed transfer can be reversed; transfer " + id + " is " + original.status());
      }
      if (original.request().reverses() != null) {
        return Problems.complete(StatusCodes.CONFLICT, LedgerProblem.NOT_REVERSIBLE,
            "transfer " + id + " is itself a reversal");
      }
      var r = original.request();
      long amount = original.postedAmount() != null ? original.postedAmount() : r.amount();
      var reversal = new Transfer.Request(user, r.to(), r.from(), amount, r.currency(), "reversal of " + id, 0, id);
      var reversalId = Transfer.reversalIdFor(id);
      return startUnlessRefused(precheck(reversal), madeBy(reversalId, user), () -> start(reversalId, reversal));
    }));
  }

  static Rejection invalid(TransferRequest body) {
    if (body.from() == null || body.to() == null) return Rejection.badRequest("from and to are required account ids");
    if (!LedgerRoutes.ACCOUNT_ID.matcher(body.from()).matches()) {
      return Rejection.unprocessable("from '" + LedgerRoutes.abbreviate(body.from()) + "' is not a valid account id");
    }
    if (!LedgerRoutes.ACCOUNT_ID.matcher(body.to()).matches()) {
      return Rejection.unprocessable("to '" + LedgerRoutes.abbreviate(body.to()) + "' is not a valid account id");
    }
    if (body.from().equals(body.to())) return Rejection.unprocessable("from and to must be different accounts");
    if (body.amount() == null) return Rejection.badRequest("amount is required (integer minor units, e.g. cents)");
    if (body.amount() <= 0) return Rejection.badRequest("amount must be a positive integer of minor units");
    if (body.currency() == null) return Rejection.badRequest("currency is required (ISO-4217 code, e.g. EUR)");
    if (!Currencies.isKnown(body.currency())) {
      return Rejection.unprocessable(LedgerProblem.UNKNOWN_CURRENCY,
          "unknown currency '" + LedgerRoutes.abbreviate(body.currency()) + "'");
    }
    if (body.reference() != null && body.reference().length() > MAX_REFERENCE) {
      return Rejection.badRequest("reference must be at most " + MAX_REFERENCE + " characters");
    }
    if (body.timeoutSeconds() != null) {
      if (!Boolean.TRUE.equals(body.pending())) {
        return Rejection.badRequest("timeoutSeconds applies to pending transfers only (\"pending\": true)");
      }
      if (body.timeoutSeconds() < 1 || body.timeoutSeconds() > MAX_HOLD_SECONDS) {
        return Rejection.badRequest("timeoutSeconds must be from 1 to " + MAX_HOLD_SECONDS);
      }
    }
    return null;
  }

  /** Why the accounts refuse this transfer right now, or null. */
  private CompletionStage<Rejection> precheck(Transfer.Request r) {
    return prechecks.refusal(r.requester(), r.from(), r.to(), r.currency());
  }

  /**
   * A plain transfer without a saga entity: its source account coordinates it ({@link LedgerAccount.Send}) and is its
   * idempotency record. A refused pre-check goes along: the account answers a retry of a transfer made earlier itself.
   */
  private Route send(String transferId, Transfer.Request request, Rejection precheckRefusal, boolean sagaChecked) {
    CompletionStage<LedgerAccount.Reply> reply = sharding.entityRefFor(LedgerAccount.ENTITY_KEY, request.from())
        .ask(replyTo -> new LedgerAccount.Send(transferId, request, precheckRefusal, sagaChecked, replyTo),
            askTimeout);
    return onSuccess(reply, r -> {
      if (r instanceof LedgerAccount.UseSaga) {
        // The key may belong to a transfer made by a saga, before accounts coordinated transfers: it answers then.
        return onSuccess(inspect(transferId), known -> known instanceof Transfer.TransferReply
            ? (precheckRefusal == null ? start(transferId, request)
                : startUnlessRefused(CompletableFuture.completedFuture(precheckRefusal),
                    madeBy(transferId, request.requester()), () -> start(transferId, request)))
            : send(transferId, request, precheckRefusal, true));
      }
      if (r instanceof LedgerAccount.Rejected rejected) {
        var why = rejected.rejection();
        // An unknown source named in the body is a semantic error of the body, as the pre-check says it.
        return Problems.complete(why.kind() == Rejection.Kind.NOT_FOUND ? why.as(Rejection.Kind.UNPROCESSABLE) : why);
      }
      var answer = (LedgerAccount.TransferAnswer) r;
      return respond(transferId, new Transfer.TransferReply(answer.transfer(), answer.replayed()),
          StatusCodes.CREATED);
    });
  }

  private Route start(String transferId, Transfer.Request request) {
    return ask(transferId, replyTo -> new Transfer.Initiate(request, replyTo), StatusCodes.CREATED);
  }

  private Route ask(String transferId, Function<ActorRef<Transfer.Reply>, Transfer.Command> command) {
    return ask(transferId, command, StatusCodes.OK);
  }

  /** @param done the status when the command took effect now (201 for a new transfer, 200 for a post or a void) */
  private Route ask(String transferId, Function<ActorRef<Transfer.Reply>, Transfer.Command> command,
      StatusCode done) {
    CompletionStage<Transfer.Reply> reply = sharding.entityRefFor(Transfer.ENTITY_KEY, transferId)
        .ask(command::apply, askTimeout);
    return onSuccess(reply, r -> respond(transferId, r, done));
  }

  private static Route respond(String transferId, Transfer.Reply r, StatusCode done) {
    if (r instanceof Transfer.Rejected rejected) return Problems.complete(rejected.rejection());
    var answer = (Transfer.TransferReply) r;
    var view = answer.transfer();
    List<HttpHeader> headers = List.of(Location.create("/v1/transfers/" + transferId),
        RawHeader.create("Idempotent-Replayed", String.valueOf(answer.replayed())));
    return switch (view.status()) {
      case COMPLETED, HELD, VOIDED, EXPIRED ->
          respond(answer.replayed() ? StatusCodes.OK : done, view, headers);
      case PENDING, PARKED -> respond(StatusCodes.ACCEPTED, view, headers);
      case FAILED -> complete(Problems.response(StatusCodes.get(view.rejection().kind().status),
          view.rejection().code(), view.rejection().detail(), headers));
      case COMPENSATED -> complete(Problems.response(StatusCodes.UNPROCESSABLE_ENTITY,
          LedgerProblem.CREDIT_REFUSED.code(),
          "the destination refused the credit (" + view.detail() + "); the debit was refunded", headers));
    };
  }

  private static Route respond(StatusCode status, Transfer.View view, List<HttpHeader> headers) {
    return respondWithHeaders(headers, () -> complete(status, TransferResponse.of(view), Json.marshaller()));
  }

  /** From the read model, about a second behind the entity: a transfer appears shortly after its POST. */
  private Route get(String user, String id) {
    return existing(user, id, row -> complete(StatusCodes.OK, TransferResponse.of(row), Json.marshaller()));
  }

  /**
   * The caller's transfer from the read model, else 404/403. Commands on a transfer go through here first: an id
   * that is not in the read model never reaches (and starts) an entity.
   */
  private Route existing(String user, String id, Function<TransferRepository.TransferRow, Route> inner) {
    return known(id, row -> row.request().requester().equals(user) ? inner.apply(row)
        : Problems.complete(StatusCodes.FORBIDDEN, LedgerProblem.NOT_TRANSFER_OWNER,
            "transfer " + id + " was made by another user"));
  }

  /** 404 for what cannot be a transfer id, so it never reaches (and starts) an entity. */
  private static Route validId(String id, Function<String, Route> inner) {
    return TRANSFER_ID.matcher(id).matches() ? inner.apply(id) : Problems.complete(StatusCodes.NOT_FOUND,
        "transfer id '" + LedgerRoutes.abbreviate(id) + "' is not a valid id");
  }

  /** A transfer the read model knows (whoever made it), else 404. */
  private Route known(String id, Function<TransferRepository.TransferRow, Route> inner) {
    return validId(id, valid -> onSuccess(transfers.find(valid), found -> found.isPresent() ? inner.apply(found.get())
        : Problems.complete(StatusCodes.NOT_FOUND, LedgerProblem.TRANSFER_NOT_FOUND,
            "transfer " + id + " does not exist (a new transfer shows here about a second after its POST)")));
  }
}
