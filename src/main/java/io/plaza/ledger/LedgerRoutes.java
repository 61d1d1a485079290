package io.plaza.ledger;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.plaza.platform.Endpoint;
import io.plaza.platform.Json;
import io.plaza.platform.Problems;
import io.plaza.platform.Rejection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/** The wallet-account API: thin — validate at the edge, ask the entity or read the `balances` model, map to DTOs. */
public final class LedgerRoutes {

  static final Pattern ACCOUNT_ID = Pattern.compile("[A-Za-z0-9-]{1,64}");
  /** Printable ASCII without spaces, like Stripe's keys. */
  static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,128}");
  static final String IDEMPOTENCY_HEADER = "Idempotency-Key";

  public record OpenAccountRequest(String currency, Long overdraftLimit) {}

  public record AmountRequest(Long amount) {}

  /** {@code balance} is posted money; {@code available} = balance - held (what pending transfers reserve). */
  public record AccountResponse(
      String accountId, String owner, String currency, long overdraftLimit, long balance, long held, long available,
      long version, Instant openedAt, boolean closed) {
    static AccountResponse of(LedgerAccount.Summary s) {
      return new AccountResponse(s.accountId(), s.owner(), s.currency(), s.overdraftLimit(), s.balance(), s.held(),
          s.balance() - s.held(), s.version(), s.openedAt(), s.closed());
    }
  }

  public record MovementResponse(
      String accountId, String operationId, String type, long amount, long balanceAfter, String currency) {}

  public record BalanceResponse(
      String accountId, String currency, long balance, long held, long available, long overdraftLimit, long version,
      Instant updatedAt) {}

  /** One journal entry; {@code side} DEBIT takes money out of the account, CREDIT puts it in. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record EntryResponse(
      long position, String type, String side, long amount, String currency, long balanceAfter, String transferId,
      String operationId, String counterparty, Instant occurredAt) {
    static EntryResponse of(JournalRepository.Entry e, String currency) {
      return new EntryResponse(e.seq(), e.type(), e.side().name(), e.amount(), currency, e.balanceAfter(),
          e.transferId(), e.operationId(), e.counterparty(), e.occurredAt());
    }
  }

  /** The caller's accounts from the `balances` read model (about a second behind: a just-opened one may be missing). */
  public record AccountsResponse(List<BalanceResponse> items) {}

  /** No user needs more accounts than this; the list is not paged. */
  static final int MAX_ACCOUNTS_LISTED = 100;

  public record EntriesResponse(String accountId, String currency, List<EntryResponse> entries, String nextCursor) {}

  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 200;
  private static final Pattern CURSOR = Pattern.compile("[0-9]{1,18}");
  private static final Pattern LIMIT = Pattern.compile("[0-9]{1,4}");

  private final ClusterSharding sharding;
  private final BalanceRepository balances;
  private final JournalRepository journal;
  private final Duration askTimeout;

  public LedgerRoutes(ActorSystem<?> system, BalanceRepository balances, JournalRepository journal,
      Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.balances = balances;
    this.journal = journal;
    this.askTimeout = askTimeout;
  }

  public List<Endpoint> endpoints() {
    return List.of(
        Endpoint.post("/v1/accounts", call -> open(call.userId())),
        Endpoint.get("/v1/accounts", call -> onSuccess(balances.ofOwner(call.userId(), MAX_ACCOUNTS_LISTED),
            rows -> complete(StatusCodes.OK, new AccountsResponse(rows.stream()
                .sorted(java.util.Comparator.comparing(BalanceRepository.Balance::openedAt,
                    java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder())))
                .map(LedgerRoutes::balanceOf).toList()), Json.marshaller()))),
        Endpoint.get("/v1/accounts/{id}", call -> withAccountId(call, id -> ask(id,
            replyTo -> new LedgerAccount.Get(call.userId(), replyTo), this::accountCompleted))),
        Endpoint.post("/v1/accounts/{id}/deposits", call -> withAccountId(call, id -> move(call.userId(), id, true))),
        Endpoint.post("/v1/accounts/{id}/withdrawals",
            call -> withAccountId(call, id -> move(call.userId(), id, false))),
        Endpoint.get("/v1/accounts/{id}/balance", call -> withAccountId(call, id -> balance(call.userId(), id))),
        Endpoint.get("/v1/accounts/{id}/entries", call -> withAccountId(call, id -> entries(call.userId(), id))));
  }

  private Route open(String user) {
    return optionalHeaderValueByName(IDEMPOTENCY_HEADER, key -> {
      if (key.isPresent() && !IDEMPOTENCY_KEY.matcher(key.get()).matches()) return badIdempotencyKey();
      return entity(Json.unmarshaller(OpenAccountRequest.class), req -> {
        if (req.currency() == null) return Problems.badRequest("currency is required (ISO-4217 code, e.g. EUR)");
        if (!Currencies.isKnown(req.currency())) {
          return Problems.complete(StatusCodes.UNPROCESSABLE_ENTITY, LedgerProblem.UNKNOWN_CURRENCY,
              "unknown currency '" + req.currency() + "': expected an ISO-4217 code such as EUR or USD");
        }
        long overdraft = Optional.ofNullable(req.overdraftLimit()).orElse(0L);
        if (overdraft < 0) return Problems.badRequest("overdraftLimit must not be negative");
        // With a key, a retried POST lands on the same account instead of opening a second one.
        var id = key.map(k -> UUID.nameUUIDFromBytes((user + "\n" + k).getBytes(StandardCharsets.UTF_8)))
            .orElseGet(UUID::randomUUID).toString();
        return ask(id, replyTo -> new LedgerAccount.Open(user, req.currency(), overdraft, replyTo), reply -> {
          if (reply instanceof LedgerAccount.AccountReply ok) {
            return respondWithHeader(Location.create("/v1/accounts/" + id), () ->
                complete(StatusCodes.CREATED, AccountResponse.of(ok.account()), Json.marshaller()));
          }
          return rejected(reply);
        });
      });
    });
  }

  private Route move(String user, String id, boolean deposit) {
    return requireIdempotencyKey(key -> {
      return entity(Json.unmarshaller(AmountRequest.class), req -> {
        if (req.amount() == null) return Problems.badRequest("amount is required (integer minor units, e.g. cents)");
        if (req.amount() <= 0) return Problems.badRequest("amount must be a positive integer of minor units");
        return ask(id, replyTo -> deposit
            ? new LedgerAccount.Deposit(user, req.amount(), key, replyTo)
            : new LedgerAccount.Withdraw(user, req.amount(), key, replyTo), reply -> {
              if (reply instanceof LedgerAccount.MovementReply moved) {
                var op = moved.operation();
                var body = new MovementResponse(id, op.operationId(),
                    op.kind() == LedgerAccount.Operation.Kind.DEPOSIT ? "deposit" : "withdrawal", op.amount(),
                    op.balanceAfter(), moved.account().currency());
                return respondWithHeader(RawHeader.create("Idempotent-Replayed", String.valueOf(moved.replayed())),
                    () -> complete(moved.replayed() ? StatusCodes.OK : StatusCodes.CREATED, body, Json.marshaller()));
              }
              return rejected(reply);
            });
      });
    });
  }

  /** From the read model: may lag the entity by the projection delay (about a second). */
  private Route balance(String user, String id) {
    return withProjectedAccount(user, id, b -> complete(StatusCodes.OK, balanceOf(b), Json.marshaller()));
  }

  private static BalanceResponse balanceOf(BalanceRepository.Balance b) {
    return new BalanceResponse(b.accountId(), b.currency(), b.balance(), b.held(), b.balance() - b.held(),
        b.overdraftLimit(), b.version(), b.updatedAt());
  }

  /**
   * A page of the account's journal, oldest first. The cursor is the position of the last entry returned, so pages
   * stay stable while new entries arrive (they only ever append).
   */
  private Route entries(String user, String id) {
    return parameterOptional("cursor", cursor -> parameterOptional("limit", limitParam -> {
      if (cursor.isPresent() && !CURSOR.matcher(cursor.get()).matches()) {
        return Problems.badRequest("cursor must be the nextCursor of a previous page");
      }
      if (limitParam.isPresent() && !LIMIT.matcher(limitParam.get()).matches()) {
        return Problems.badRequest("limit must be an integer from 1 to " + MAX_PAGE);
      }
      int limit = limitParam.map(Integer::parseInt).orElse(DEFAULT_PAGE);
      if (limit < 1 || limit > MAX_PAGE) return Problems.badRequest("limit must be an integer from 1 to " + MAX_PAGE);
      long after = cursor.map(Long::parseLong).orElse(0L);
      return withProjectedAccount(user, id, account -> onSuccess(journal.page(id, after, limit + 1), found -> {
        var page = found.size() > limit ? found.subList(0, limit) : found;
        var next = found.size() > limit ? String.valueOf(page.get(page.size() - 1).seq()) : null;
        var entries = page.stream().map(e -> EntryResponse.of(e, account.currency())).toList();
        return complete(StatusCodes.OK, new EntriesResponse(id, account.currency(), entries, next),
            Json.marshaller());
      }));
    }));
  }

  private Route withProjectedAccount(String user, String id, Function<BalanceRepository.Balance, Route> inner) {
    return onSuccess(balances.find(id), found -> {
      if (found.isEmpty() || found.get().owner() == null) {
        return Problems.complete(StatusCodes.NOT_FOUND, LedgerProblem.ACCOUNT_NOT_FOUND,
            "account " + id + " does not exist (or is not projected yet)");
      }
      if (!found.get().owner().equals(user)) {
        return Problems.complete(StatusCodes.FORBIDDEN, LedgerProblem.NOT_ACCOUNT_OWNER,
            "account " + id + " belongs to another user");
      }
      return inner.apply(found.get());
    });
  }

  private Route accountCompleted(LedgerAccount.Reply reply) {
    if (reply instanceof LedgerAccount.AccountReply ok) {
      return complete(StatusCodes.OK, AccountResponse.of(ok.account()), Json.marshaller());
    }
    return rejected(reply);
  }

  private Route ask(String id,
      Function<org.apache.pekko.actor.typed.ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> command,
      Function<LedgerAccount.Reply, Route> onReply) {
    return onSuccess(sharding.entityRefFor(LedgerAccount.ENTITY_KEY, id).ask(command::apply, askTimeout), onReply);
  }

  private static Route rejected(LedgerAccount.Reply reply) {
    if (reply instanceof LedgerAccount.Rejected r) return Problems.complete(r.rejection());
    return Problems.complete(Rejection.badRequest("unexpected reply"));
  }

  private static Route withAccountId(Endpoint.Call call, Function<String, Route> inner) {
    var id = call.param("id");
    if (!ACCOUNT_ID.matcher(id).matches()) {
      return Problems.complete(StatusCodes.NOT_FOUND, "account id '" + abbreviate(id) + "' is not a valid id");
    }
    return inner.apply(id);
  }

  /** The request's Idempotency-Key, required and valid, else 400: a retry with the same key applies once. */
  static Route requireIdempotencyKey(Function<String, Route> inner) {
    return optionalHeaderValueByName(IDEMPOTENCY_HEADER, key -> {
      if (key.isEmpty()) {
        return Problems.badRequest("the Idempotency-Key header is required: a retry with the same key applies once");
      }
      if (!IDEMPOTENCY_KEY.matcher(key.get()).matches()) return badIdempotencyKey();
      return inner.apply(key.get());
    });
  }

  static Route badIdempotencyKey() {
    return Problems.badRequest("Idempotency-Key must be 1-128 printable ASCII characters without spaces");
  }

  static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
