package io.plaza.ledger;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
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
  /** Accounts that do not answer (a node down): every ask of them fails. */
  final Set<String> down = ConcurrentHashMap.newKeySet();
  /** Accounts whose next answer is lost on the way back: the command is applied, the ask fails. */
  final Set<String> loseNextAnswer = ConcurrentHashMap.newKeySet();
  private final ActorTestKit testKit;
  private final LedgerAccount.Memory memory;
  private final Transfer.Settings settings;

  AccountsFixture(ActorTestKit testKit, Duration wait) {
    this(testKit, wait, new LedgerAccount.Memory(1000, Duration.ofHours(24)),
        new Transfer.Settings(Duration.ofSeconds(3), wait, Duration.ofMillis(50), Duration.ofMillis(200)));
  }

  /** The accounts reach each other through {@link #accounts}, as sharding does, for the transfers they coordinate. */
  AccountsFixture(ActorTestKit testKit, Duration wait, LedgerAccount.Memory memory, Transfer.Settings settings) {
    this.testKit = testKit;
    this.memory = memory;
    this.settings = settings;
    accounts = (id, command) -> {
      if (down.contains(id)) {
        return CompletableFuture.failedFuture(new TimeoutException("account " + id + " does not answer"));
      }
      var answer = AskPattern.<LedgerAccount.Command, LedgerAccount.Reply>ask(actor(id), command::apply, wait,
          testKit.system().scheduler());
      if (!loseNextAnswer.remove(id)) return answer;
      return answer.thenCompose(applied ->
          CompletableFuture.failedFuture(new TimeoutException("the answer of " + id + " was lost")));
    };
  }

  ActorRef<LedgerAccount.Command> actor(String id) {
    return actors.computeIfAbsent(id, k -> testKit.spawn(
        LedgerAccount.create(k, memory, Clock.systemUTC(), accounts, settings)));
  }

  /** Stops the account's actor (a crash of its node); the next ask starts a new incarnation that recovers. */
  void stop(String id) {
    var actor = actors.remove(id);
    if (actor != null) testKit.stop(actor, Duration.ofSeconds(5));
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
