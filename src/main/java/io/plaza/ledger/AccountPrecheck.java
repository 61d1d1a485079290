package io.plaza.ledger;

import io.plaza.platform.Rejection;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * What the HTTP layer checks before a transfer or batch reaches its entity: the requester owns an open source in the
 * transfer's currency, and the destination exists, is open and has that currency. A refused request so starts no
 * entity and leaves no trace; the saga still handles any change that happens after the check.
 */
final class AccountPrecheck {

  private final ClusterSharding sharding;
  private final Duration askTimeout;

  AccountPrecheck(ClusterSharding sharding, Duration askTimeout) {
    this.sharding = sharding;
    this.askTimeout = askTimeout;
  }

  /** Why the accounts refuse a move right now, or null. Asks both accounts at once. */
  CompletionStage<Rejection> refusal(String requester, String from, String to, String currency) {
    var source = sharding.entityRefFor(LedgerAccount.ENTITY_KEY, from)
        .<LedgerAccount.Reply>ask(replyTo -> new LedgerAccount.Get(requester, replyTo), askTimeout);
    var destination = sharding.entityRefFor(LedgerAccount.ENTITY_KEY, to)
        .<LedgerAccount.Reply>ask(LedgerAccount.Describe::new, askTimeout);
    return source.thenCombine(destination, (fromReply, toReply) -> {
      if (fromReply instanceof LedgerAccount.Rejected rejected) {
        var why = rejected.rejection();
        // An unknown account named in the body is a semantic error of the body, not a missing URL resource.
        return why.kind() == Rejection.Kind.NOT_FOUND ? why.as(Rejection.Kind.UNPROCESSABLE) : why;
      }
      var account = ((LedgerAccount.AccountReply) fromReply).account();
      if (account.closed()) return Rejection.unprocessable(LedgerProblem.ACCOUNT_CLOSED,
          "account " + from + " is closed");
      if (!account.currency().equals(currency)) {
        return Rejection.unprocessable(LedgerProblem.CURRENCY_MISMATCH,
            "currency " + currency + " does not match account " + from + "'s "
            + account.currency());
      }
      return destinationRefusal(toReply, to, currency);
    });
  }

  /**
   * Why the destination refuses a credit right now, or null: for a transfer its source account coordinates, which
   * checks the source itself ({@link LedgerAccount.Send}).
   */
  CompletionStage<Rejection> destinationRefusal(String to, String currency) {
    return sharding.entityRefFor(LedgerAccount.ENTITY_KEY, to)
        .<LedgerAccount.Reply>ask(LedgerAccount.Describe::new, askTimeout)
        .thenApply(reply -> destinationRefusal(reply, to, currency));
  }

  private static Rejection destinationRefusal(LedgerAccount.Reply toReply, String to, String currency) {
    if (toReply instanceof LedgerAccount.Rejected rejected) {
      var why = rejected.rejection();
      return new Rejection(Rejection.Kind.UNPROCESSABLE, "destination " + why.detail(), why.code());
    }
    var info = (LedgerAccount.AccountInfo) toReply;
    if (info.closed()) {
      return Rejection.unprocessable(LedgerProblem.ACCOUNT_CLOSED, "destination account " + to + " is closed");
    }
    if (!info.currency().equals(currency)) {
      return Rejection.unprocessable(LedgerProblem.CURRENCY_MISMATCH,
          "currency " + currency + " does not match destination account " + to
          + "'s " + info.currency());
    }
    return null;
  }
}
