package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;

/**
 * Real LedgerAccount entities on the in-memory journal for saga tests: spawned on first use as sharding does, reached
 * through the same {@link Transfer.Accounts} interface the sagas use in production.
 */
final class AccountsFixture {

  /** A local actor system with the in-memory journal and the production serialization settings. */
  static Config config() {
    return ConfigFactory.parseString("pekko.actor.provider = local")
        .withFallback(EventSourcedBehaviorTestKit.config())
        .withFallback(ConfigFactory.load());
  }

  final Map<String, ActorRef<LedgerAccount.Command>> actors = new ConcurrentHashMap<>();
  final Transfer.Accounts accounts;

  AccountsFixture(ActorTestKit testKit, Duration wait) {
    accounts = (id, command) -> AskPattern.ask(
        actors.computeIfAbsent(id, k -> testKit.spawn(LedgerAccount.create(k, 1000, Clock.systemUTC()))),
        command::apply, wait, testKit.system().scheduler());
  }

  LedgerAccount.Reply ask(String id, Function<ActorRef<LedgerAccount.Reply>, LedgerAccount.Command> command) {
    return accounts.ask(id, command).toCompletableFuture().join();
  }

  void open(String id, String owner, long deposit) {
    assertInstanceOf(LedgerAccount.AccountReply.class, ask(id, r -> new LedgerAccount.Open(owner, "EUR", 0, r)));
    if (deposit > 0) {
      assertInstanceOf(LedgerAccount.MovementReply.class,
          ask(id, r -> new LedgerAccount.Deposit(owner, deposit, "seed", r)));
    }
  }

  LedgerAccount.Summary summary(String id, String owner) {
    return assertInstanceOf(LedgerAccount.AccountReply.class, ask(id, r -> new LedgerAccount.Get(owner, r)))
        .account();
  }
}
