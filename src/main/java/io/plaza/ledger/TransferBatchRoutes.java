package io.plaza.ledger;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeaders;

import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Linked transfers: {@code POST /v1/transfer-batches} applies all its legs or none. Same contract as a single
 * transfer (Idempotency-Key required; 201 completed, 202 pending, 4xx refused — a refusal names the leg).
 */
public final class TransferBatchRoutes {

  public record LegRequest(String from, String to, Long amount, String currency, String reference) {}

  public record BatchRequest(List<LegRequest> legs) {}

  public record LegResponse(String transferId, String from, String to, long amount, String currency,
      String reference) {}

  public record BatchResponse(
      String batchId, String status, String detail, List<LegResponse> legs, List<TransferRoutes.StepResponse> steps,
      Instant createdAt, Instant finishedAt) {

    static BatchResponse of(TransferBatch.View v) {
      var legs = IntStream.range(0, v.request().legs().size()).mapToObj(i -> {
        var leg = v.request().legs().get(i);
        return new LegResponse(TransferBatch.legId(v.batchId(), i), leg.from(), leg.to(), leg.amount(),
            leg.currency(), leg.reference());
      }).toList();
      return new BatchResponse(v.batchId(), v.status().name(), v.detail(), legs,
          v.steps().stream().map(s -> new TransferRoutes.StepResponse(s.name(), s.at())).toList(), v.createdAt(),
          v.finishedAt());
    }
  }

  private final ClusterSharding sharding;
  private final TransferRepository transfers;
  private final Duration askTimeout;
  private final AccountPrecheck prechecks;

  public TransferBatchRoutes(ActorSystem<?> system, TransferRepository transfers, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.transfers = transfers;
    this.askTimeout = askTimeout;
    this.prechecks = new AccountPrecheck(sharding, askTimeout);
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/transfer-batches", call -> initiate(call.userId())),
        Endpoint.get("/v1/transfer-batches/{id}", call -> get(call.userId(), call.param("id"))));
  }

  private Route initiate(String user) {
    return LedgerRoutes.requireIdempotencyKey(key -> entity(Json.unmarshaller(BatchRequest.class), body -> {
      if (body.legs() == null || body.legs().isEmpty() || body.legs().size() > TransferBatch.MAX_LEGS) {
        return Problems.badRequest("legs must list 1 to " + TransferBatch.MAX_LEGS + " transfers");
      }
      var legs = new ArrayList<TransferBatch.Leg>();
      for (int i = 0; i < body.legs().size(); i++) {
        var l = body.legs().get(i);
        if (l == null) return Problems.badRequest("legs[" + i + "] is null");
        var invalid = TransferRoutes.invalid(
            new TransferRoutes.TransferRequest(l.from(), l.to(), l.amount(), l.currency(), l.reference(), null, null));
        if (invalid != null) {
          return Problems.complete(new Rejection(invalid.kind(), "legs[" + i + "]: " + invalid.detail()));
        }
        legs.add(new TransferBatch.Leg(l.from(), l.to(), l.amount(), l.currency(),
            l.reference() == null ? "" : l.reference()));
      }
      var request = new TransferBatch.Request(user, List.copyOf(legs));
      var batchId = TransferBatch.idFor(user, key);
      return TransferRoutes.startUnlessRefused(precheck(request),
          () -> transfers.find(TransferBatch.legId(batchId, 0)).thenApply(java.util.Optional::isPresent),
          () -> start(batchId, request));
    }));
  }

  /** The first refusal among the legs (checked all at once), or null. */
  private CompletionStage<Rejection> precheck(TransferBatch.Request request) {
    var checks = new ArrayList<CompletableFuture<Rejection>>();
    for (var leg : request.legs()) {
      checks.add(prechecks.refusal(request.requester(), leg.from(), leg.to(), leg.currency()).toCompletableFuture());
    }
    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new)).thenApply(v -> {
      for (int i = 0; i < checks.size(); i++) {
        var refusal = checks.get(i).join();
        if (refusal != null) return new Rejection(refusal.kind(), "legs[" + i + "]: " + refusal.detail());
      }
      return null;
    });
  }

  private Route start(String batchId, TransferBatch.Request request) {
    CompletionStage<TransferBatch.Reply> reply = sharding.entityRefFor(TransferBatch.ENTITY_KEY, batchId)
        .ask(replyTo -> new TransferBatch.Initiate(request, replyTo), askTimeout);
    return onSuccess(reply, r -> {
      if (r instanceof TransferBatch.Rejected rejected) return Problems.complete(rejected.rejection());
      var answer = (TransferBatch.BatchReply) r;
      var view = answer.batch();
      List<HttpHeader> headers = List.of(Location.create("/v1/transfer-batches/" + batchId),
          RawHeader.create("Idempotent-Replayed", String.valueOf(answer.replayed())));
      return switch (view.status()) {
        case COMPLETED -> respondWithHeaders(headers, () -> complete(
            answer.replayed() ? StatusCodes.OK : StatusCodes.CREATED, BatchResponse.of(view), Json.marshaller()));
        case PENDING, PARKED -> respondWithHeaders(headers, () -> complete(StatusCodes.ACCEPTED,
            BatchResponse.of(view), Json.marshaller()));
        case FAILED -> complete(Problems.response(StatusCodes.get(view.rejection().kind().status),
            view.rejection().code(), view.detail() + "; no leg took effect", headers));
      };
    });
  }

  /** Known from the read model first (its leg rows), so an unknown id never starts an entity. */
  private Route get(String user, String id) {
    if (!TransferRoutes.TRANSFER_ID.matcher(id).matches()) {
      return Problems.complete(StatusCodes.NOT_FOUND, "batch id '" + LedgerRoutes.abbreviate(id)
          + "' is not a valid id");
    }
    return onSuccess(transfers.find(TransferBatch.legId(id, 0)), found -> {
      if (found.isEmpty()) {
        return Problems.complete(StatusCodes.NOT_FOUND, LedgerProblem.BATCH_NOT_FOUND,
            "batch " + id + " does not exist (a new batch shows here about a second after its POST)");
      }
      if (!found.get().request().requester().equals(user)) {
        return Problems.complete(StatusCodes.FORBIDDEN, LedgerProblem.NOT_TRANSFER_OWNER,
            "batch " + id + " was made by another user");
      }
      CompletionStage<TransferBatch.Reply> reply = sharding.entityRefFor(TransferBatch.ENTITY_KEY, id)
          .ask(replyTo -> new TransferBatch.Get(user, replyTo), askTimeout);
      return onSuccess(reply, r -> r instanceof TransferBatch.BatchReply b
          ? complete(StatusCodes.OK, BatchResponse.of(b.batch()), Json.marshaller())
          : Problems.complete(((TransferBatch.Rejected) r).rejection()));
    });
  }
}
