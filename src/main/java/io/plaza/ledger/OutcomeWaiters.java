package io.plaza.ledger;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The callers a saga (a transfer, a batch) answers when it reaches an outcome: the one whose request started the step,
 * and the copies of that request that arrived while it ran (a retry, duplicates sent at the same moment). Exactly one
 * caller is the original; every copy is told it is a replay ({@code Idempotent-Replayed: true}). In memory only: after
 * a restart the retries find the outcome in the journal.
 */
final class OutcomeWaiters<R> {

  private record Waiter<R>(ActorRef<R> replyTo, boolean replay) {}

  private final List<Waiter<R>> waiting = new ArrayList<>();

  /** The caller whose request this entity is carrying out now. */
  void original(ActorRef<R> replyTo) {
    waiting.add(new Waiter<>(replyTo, false));
  }

  /** A caller who sent a request already being carried out. */
  void replay(ActorRef<R> replyTo) {
    waiting.add(new Waiter<>(replyTo, true));
  }

  /** Answers everyone waiting, {@code reply} given whether they are a replay, and forgets them. */
  void answer(Function<Boolean, R> reply) {
    for (var waiter : waiting) waiter.replyTo().tell(reply.apply(waiter.replay()));
    waiting.clear();
  }
}
