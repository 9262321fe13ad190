package dev.sparkgpt.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.HadoopConf;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** What a crash or a second writer can do to a run directory, and what the checkpoint package does about it. */
class RunDirectoryDurabilityTest {
  private static void save(CheckpointStore store, long step) {
    store.save(step, Map.of("w", Nd4j.ones(2).mul(step)), Map.of(), Map.of("tokens_seen", step));
  }

  @Test
  void aLostLatestFallsBackToTheNewestCompleteStepWithAWarning(@TempDir Path dir) throws Exception {
    CheckpointStore store = new CheckpointStore(dir.toString(), HadoopConf.create(), 3);
    save(store, 10);
    save(store, 20);
    Files.createDirectories(dir.resolve("step-000030"));        // no state.json: never completed
    Files.delete(dir.resolve("latest"));                          // what a crash around the 'latest' update leaves
    ByteArrayOutputStream warn = new ByteArrayOutputStream();
    assertEquals("step-000020", store.latest(new PrintStream(warn, true, StandardCharsets.UTF_8)).orElseThrow()
        .getName());
    assertTrue(warn.toString(StandardCharsets.UTF_8).contains("no latest file; using the newest complete checkpoint "
        + "step-000020"), warn.toString(StandardCharsets.UTF_8));

    Files.writeString(dir.resolve("latest"), "step-000099\n");  // naming a step that is gone
    warn.reset();
    assertEquals(20, store.loadLatest().orElseThrow().step());
    assertEquals(20, Checkpoint.open(dir.toString()).step(), "inference verbs resolve the run the same way");
  }

  @Test
  void latestNamingNothingInARunWithoutCheckpointsIsRefusedNotIgnored(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("latest"), "step-000007\n");
    CheckpointException e = assertThrows(CheckpointException.class,
        () -> new CheckpointStore(dir.toString(), HadoopConf.create(), 1).loadLatest());
    assertTrue(e.getMessage().contains("step-000007") && e.getMessage().contains("Fix:"), e.getMessage());
  }

  @Test
  void pruningNeverRemovesTheStepJustWrittenEvenWhenOlderThanTheKeptOnes(@TempDir Path dir) {
    CheckpointStore store = new CheckpointStore(dir.toString(), HadoopConf.create(), 2);
    save(store, 20);
    save(store, 30);
    save(store, 11);     // a run resumed from an earlier step directory writes a lower step
    assertEquals(List.of(11L, 30L), store.steps());
    assertEquals(11, store.loadLatest().orElseThrow().step());
  }

  @Test
  void leftoversOfACrashedWriterAreCollectedWhenTheNextRunTakesTheDirectory(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve(".step-000005.staging-1234/x"));
    Files.writeString(dir.resolve(".tmp-latest-abcd"), "step-000005\n");
    Files.writeString(dir.resolve("notes.txt"), "mine");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (RunWriter w = RunWriter.open(dir.toString(), 2, HadoopConf.create(), new PrintStream(log))) {
      assertFalse(Files.exists(dir.resolve(".step-000005.staging-1234")));
      assertFalse(Files.exists(dir.resolve(".tmp-latest-abcd")));
      assertTrue(Files.exists(dir.resolve("notes.txt")), "only our own leftovers go");
      assertTrue(log.toString().contains("removed 2 leftover"), log.toString());
      w.save(1, Map.of("w", Nd4j.ones(1)), Map.of(), Map.of());
    }
    try (var files = Files.list(dir)) {
      assertEquals(List.of("latest", "notes.txt", "step-000001"),
          files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file and no lease remain");
    }
  }

  @Test
  void aSecondWriterIsRefusedNamingTheHolder(@TempDir Path dir) {
    try (RunWriter first = RunWriter.open(dir.toString(), 2, HadoopConf.create(), System.out)) {
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> RunWriter.open(dir.toString(), 2, HadoopConf.create(), System.out));
      assertTrue(e.getMessage().contains("another run is writing this out_dir") && e.getMessage().contains("pid "
          + ProcessHandle.current().pid()) && e.getMessage().contains(RunLease.FILE), e.getMessage());
    }
    RunWriter.open(dir.toString(), 2, HadoopConf.create(), System.out).close();   // released: free again
  }

  @Test
  void aStaleLeaseIsTakenOverAndItsFormerHolderStopsBeforeWriting(@TempDir Path dir) throws Exception {
    Path lease = dir.resolve(RunLease.FILE);
    // a killed run on this host: its pid is gone (the pid of a process that has exited)
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    Files.writeString(lease, "{\"id\":\"x\",\"host\":\"" + java.net.InetAddress.getLocalHost().getHostName()
        + "\",\"pid\":" + p.pid() + ",\"heartbeat\":\"" + Instant.now() + "\"}");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    RunWriter.open(dir.toString(), 2, HadoopConf.create(), new PrintStream(log)).close();
    assertTrue(log.toString().contains("taking over the lease") && log.toString().contains("is gone"),
        log.toString());

    // another host with a fresh heartbeat holds it: refused; with one 11 minutes old: taken over
    Files.writeString(lease, "{\"id\":\"y\",\"host\":\"elsewhere\",\"pid\":1,\"heartbeat\":\"" + Instant.now() + "\"}");
    assertThrows(CheckpointException.class, () -> RunWriter.open(dir.toString(), 2, HadoopConf.create(),
        System.out));
    Files.writeString(lease, "{\"id\":\"y\",\"host\":\"elsewhere\",\"pid\":1,\"heartbeat\":\""
        + Instant.now().minusSeconds(660) + "\"}");
    Files.setLastModifiedTime(lease, java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(660)));
    try (RunWriter w = RunWriter.open(dir.toString(), 2, HadoopConf.create(), new PrintStream(log))) {
      assertTrue(log.toString().contains("no heartbeat for 11"), log.toString());
      // someone else takes it over while this run lives: the next save is refused before anything is written
      Files.writeString(lease, "{\"id\":\"z\",\"host\":\"elsewhere\",\"pid\":2,\"heartbeat\":\"" + Instant.now()
          + "\"}");
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> w.save(3, Map.of("w", Nd4j.ones(1)), Map.of(), Map.of()));
      assertTrue(e.getMessage().contains("lease was taken over") && e.getMessage().contains("elsewhere"),
          e.getMessage());
      assertFalse(Files.exists(dir.resolve("step-000003")));
    }
    assertTrue(Files.readString(lease).contains("\"z\""), "closing never deletes another run's lease");
  }
}
