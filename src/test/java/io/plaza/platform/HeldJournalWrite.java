package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.testkit.JournalOperation;
import org.apache.pekko.persistence.testkit.ProcessingPolicy;
import org.apache.pekko.persistence.testkit.ProcessingResult;
import org.apache.pekko.persistence.testkit.ProcessingSuccess;
import org.apache.pekko.persistence.testkit.StorageFailure;
import org.apache.pekko.persistence.testkit.WriteEvents;

/**
 * A policy for the in-memory journal (PersistenceTestKit) that records the size of every write of
 * {@code persistenceId} in {@link #writes}; the first write (or the first with an event of type {@code holding}) is
 * held until {@link #release} and then succeeds, or fails when {@code fail} is set (recorded as 0).
 */
public final class HeldJournalWrite implements ProcessingPolicy<JournalOperation> {
  final String persistenceId;
  public final List<Integer> writes = new CopyOnWriteArrayList<>();
  final CountDownLatch started = new CountDownLatch(1);
  final CountDownLatch released = new CountDownLatch(1);
  final AtomicBoolean armed = new AtomicBoolean(true);
  final boolean fail;
  final Class<?> holding;

  public HeldJournalWrite(String persistenceId, boolean fail) {
    this(persistenceId, fail, null);
  }

  /** @param holding hold the first write with an event of this type (null: the first write) */
  public HeldJournalWrite(String persistenceId, boolean fail, Class<?> holding) {
    this.persistenceId = persistenceId;
    this.fail = fail;
    this.holding = holding;
  }

  private boolean held(WriteEvents write) {
    return holding == null || write.getBatch().stream()
        .anyMatch(e -> holding.isInstance(e instanceof Tagged tagged ? tagged.payload() : e));
  }

  @Override
  public ProcessingResult tryProcess(String pid, JournalOperation operation) {
    if (!pid.equals(persistenceId) || !(operation instanceof WriteEvents write)) {
      return ProcessingSuccess.getInstance();
    }
    if (held(write) && armed.compareAndSet(true, false)) {
      int index = writes.size();
      writes.add(-write.batch().size()); // the held write, negative: not (yet) succeeded
      started.countDown();
      try {
        released.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      writes.set(index, fail ? 0 : write.batch().size());
      if (fail) return StorageFailure.create(new RuntimeException("injected journal failure"));
      return ProcessingSuccess.getInstance();
    }
    writes.add(write.batch().size());
    return ProcessingSuccess.getInstance();
  }

  /** Waits until the held write has reached the journal. */
  public void awaitHeld() throws InterruptedException {
    assertTrue(started.await(10, TimeUnit.SECONDS), "the write reached the journal");
  }

  /** Waits until the held write has reached the journal: requests sent from now on queue behind it. */
  public void awaitHeldWrite() throws InterruptedException {
    assertTrue(started.await(10, TimeUnit.SECONDS), "the write reached the journal");
    assertEquals(List.of(-1), writes, "the held write carries the one request sent before it");
  }

  public void release() {
    released.countDown();
  }
}
