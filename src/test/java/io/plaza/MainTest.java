package io.plaza;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void aNodeAskedToStopExitsZeroAndANodeThatStoppedOnItsOwnExitsOne() {
    assertEquals(0, Main.exitCode(Optional.of(CoordinatedShutdown.jvmExitReason())), "SIGTERM");
    assertEquals(0, Main.exitCode(Optional.of(CoordinatedShutdown.clusterLeavingReason())), "left on request");
    assertEquals(1, Main.exitCode(Optional.of(CoordinatedShutdown.clusterDowningReason())), "downed");
    assertEquals(1, Main.exitCode(Optional.of(CoordinatedShutdown.clusterJoinUnsuccessfulReason())), "no seed");
    assertEquals(1, Main.exitCode(Optional.of(CoordinatedShutdown.incompatibleConfigurationDetectedReason())));
    assertEquals(1, Main.exitCode(Optional.of(CoordinatedShutdown.actorSystemTerminateReason())), "terminate()");
    assertEquals(1, Main.exitCode(Optional.of(CoordinatedShutdown.unknownReason())));
    assertEquals(1, Main.exitCode(Optional.empty()), "terminated without coordinated shutdown");
  }
}
