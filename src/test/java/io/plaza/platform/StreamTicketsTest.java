package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** One stream ticket's life: bound to its user, redeemable once, until it expires; unknown ones are refused. */
class StreamTicketsTest {

  private static final ActorTestKit TEST_KIT = ActorTestKit.create(com.typesafe.config.ConfigFactory
      .parseString("pekko.actor.provider = local").withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final Instant T0 = Instant.parse("2026-12-06T12:00:00Z");

  @AfterAll
  static void shutdown() {
    TEST_KIT.shutdownTestKit();
  }

  private final SettableClock clock = new SettableClock(T0);
  private final AtomicInteger passivations = new AtomicInteger();

  private ActorRef<StreamTickets.Command> ticket() {
    return TEST_KIT.spawn(StreamTickets.ticket(clock, self -> passivations.incrementAndGet()));
  }

  private static void issue(ActorRef<StreamTickets.Command> ticket, String user, Instant expiresAt) {
    var probe = TEST_KIT.<StreamTickets.Done>createTestProbe();
    ticket.tell(new StreamTickets.Issue(user, expiresAt, probe.getRef()));
    probe.receiveMessage();
  }

  private static StreamTickets.Redemption redeem(ActorRef<StreamTickets.Command> ticket) {
    var probe = TEST_KIT.<StreamTickets.Redemption>createTestProbe();
    ticket.tell(new StreamTickets.Redeem(probe.getRef()));
    return probe.receiveMessage();
  }

  @Test
  void aTicketNamesItsUserOnceAndIsRefusedWhenReused() {
    var ticket = ticket();
    issue(ticket, "ann", T0.plusSeconds(30));
    assertEquals(new StreamTickets.Redemption("ann", null), redeem(ticket));
    assertEquals(new StreamTickets.Redemption(null, "stream ticket already used"), redeem(ticket));
  }

  @Test
  void anExpiredTicketIsRefusedAndPassivates() {
    var ticket = ticket();
    issue(ticket, "ann", T0.plusSeconds(30));
    clock.set(T0.plusSeconds(30));
    assertEquals(new StreamTickets.Redemption(null, "stream ticket expired"), redeem(ticket));
    // Issued with no time left: its expiry timer fires at once.
    var late = ticket();
    issue(late, "bob", T0.minusSeconds(1));
    var deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    while (passivations.get() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
    assertEquals(1, passivations.get());
  }

  @Test
  void aTicketNeverIssuedIsRefused() {
    var forged = ticket();
    assertEquals(new StreamTickets.Redemption(null, "unknown or expired stream ticket"), redeem(forged));
    assertEquals(1, passivations.get(), "and its entity goes away");
  }

  @Test
  void malformedTicketsAreRefusedWithoutALookupAndMessagesSerialize() {
    var tickets = StreamTickets.FORMAT;
    for (var bad : List.of("", "short", "a".repeat(44), "a".repeat(42) + "!")) {
      assertEquals(false, tickets.matcher(bad).matches(), bad);
    }
    var serialization = new org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit(TEST_KIT.system());
    var done = TEST_KIT.<StreamTickets.Done>createTestProbe();
    var answer = TEST_KIT.<StreamTickets.Redemption>createTestProbe();
    for (Object message : List.of(new StreamTickets.Issue("ann", T0, done.getRef()),
        new StreamTickets.Redeem(answer.getRef()), new StreamTickets.Done(), new StreamTickets.Stop(),
        new StreamTickets.Redemption("ann", null), new StreamTickets.Redemption(null, "stream ticket expired"))) {
      serialization.verifySerialization(message, true);
    }
  }
}
