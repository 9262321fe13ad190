package dev.sparkgpt.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.HadoopConf;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CheckpointStoreTest {
  @Test
  void savesLoadsPointsLatestAndKeepsTheLastN(@TempDir Path dir) throws Exception {
    CheckpointStore store = new CheckpointStore(dir.toString(), HadoopConf.create(), 2);
    assertTrue(store.loadLatest().isEmpty());
    INDArray w = Nd4j.createFromArray(new float[] {1.5f, -2.25f, 3e-8f, Float.MIN_VALUE}).reshape(2, 2);
    for (long step = 10; step <= 30; step += 10) {
      store.save(step, Map.of("wte", w.mul(step)), Map.of("m.wte", w.mul(-step)),
          Map.of("tokens_seen", step * 100, "cursor", Map.of("epoch", 1, "position", step)));
    }
    assertEquals(List.of(20L, 30L), store.steps());
    assertFalse(Files.exists(dir.resolve("step-000010")));
    assertEquals("step-000030", Files.readString(dir.resolve("latest")).trim());
    CheckpointState latest = store.loadLatest().orElseThrow();
    assertEquals(30, latest.step());
    assertEquals(w.mul(30), latest.weights().get("wte"));
    assertEquals(w.mul(-30), latest.optimizer().get("m.wte"));
    assertEquals(3000, latest.state().get("tokens_seen").asLong());
    assertEquals(30, latest.state().at("/cursor/position").asLong());
    try (var files = Files.list(dir)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().contains("staging")));
    }
  }

  @Test
  void corruptWeightsAreNamed(@TempDir Path dir) throws Exception {
    CheckpointStore store = new CheckpointStore(dir.toString(), HadoopConf.create(), 3);
    store.save(5, Map.of("a", Nd4j.ones(3)), Map.of(), Map.of());
    Path weights = dir.resolve("step-000005").resolve(CheckpointStore.WEIGHTS);
    Files.write(weights, new byte[] {1, 2, 3});
    CheckpointException e = assertThrows(CheckpointException.class, () -> store.loadLatest());
    assertTrue(e.getMessage().contains("step-000005") && e.getMessage().contains("model.safetensors"), e.getMessage());
  }
}
