package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.OneThread;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Both finetunes under parameter averaging on Spark local[2], against the local loop. */
class FinetuneAveragingTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  private static Map<String, INDArray> latestWeights(Path run) {
    return new CheckpointStore(run.toString(), new Configuration(), 2).loadLatest().orElseThrow().weights();
  }

  private static void assertSameWeights(Path expected, Path actual) {
    Map<String, INDArray> a = latestWeights(expected);
    Map<String, INDArray> b = latestWeights(actual);
    assertEquals(a.keySet(), b.keySet());
    for (String name : a.keySet()) {
      assertArrayEquals(a.get(name).data().asFloat(), b.get(name).data().asFloat(), 0f, name);
    }
  }

  @Test
  void oneWorkerAveragingEveryStepIsTheLocalLoopBitForBitWithAndWithoutLora(@TempDir Path dir) {
    // averaging one worker's state is the identity, and the worker rebuilds the driver's model (head, frozen set,
    // LoRA base weights) from the broadcast: any difference in what it trains shows in the weights
    String[] pa = {"train.strategy=parameter_averaging", "train.workers=1", "train.averaging_frequency=1"};
    for (String[] extra : List.of(new String[] {"train.trainable=last_block_and_head"},
        new String[] {"lora.r=4", "lora.alpha=8", "optimizer.lr=0.01", "optimizer.min_lr=0.01"})) {
      String name = extra[0].replaceAll("\\W", "_");
      List<String> local = new ArrayList<>(List.of(extra));
      local.add("train.epochs=1");
      List<String> averaged = new ArrayList<>(local);
      averaged.addAll(List.of(pa));
      ClassifyFinetune.Result a = ClassifyFinetune.run(null,
          ClassifyFinetuneTest.config(dir.resolve(name + "-local"), local.toArray(String[]::new)), QUIET);
      ClassifyFinetune.Result b = ClassifyFinetune.run(spark,
          ClassifyFinetuneTest.config(dir.resolve(name + "-pa"), averaged.toArray(String[]::new)), QUIET);
      assertEquals(a.steps(), b.steps());
      assertSameWeights(dir.resolve(name + "-local"), dir.resolve(name + "-pa"));
      assertEquals(a.test().loss(), b.test().loss(), 0.0, name);
    }
  }

  @Test
  void twoWorkersLearnSpamAndResumeExactly(@TempDir Path dir) throws Exception {
    String[] pa = {"train.strategy=parameter_averaging", "train.workers=2", "train.averaging_frequency=2"};
    ClassifyFinetune.Result straight = ClassifyFinetune.run(spark,
        ClassifyFinetuneTest.config(dir.resolve("a"), pa), QUIET);
    assertTrue(straight.test().accuracy() > 0.85, "test accuracy " + straight.test().accuracy()
        + " (majority baseline ≈ 0.5)");
    // 1045 training examples = 66 batches of 16 per epoch; rounds of 2 workers × 2 steps take 4 batches and count
    // 2 steps: 16 full rounds + one of 2 batches (1 step each) = 33 steps per epoch
    assertEquals(66, straight.steps());

    List<String> first = new ArrayList<>(List.of(pa));
    first.add("train.epochs=1");
    ClassifyFinetune.run(spark, ClassifyFinetuneTest.config(dir.resolve("b"), first.toArray(String[]::new)), QUIET);
    ClassifyFinetune.Result resumed = ClassifyFinetune.run(spark, ClassifyFinetuneTest.config(dir.resolve("b"), pa),
        QUIET);
    assertEquals(straight.test().loss(), resumed.test().loss(), 0.0, "resumed after epoch 1 = straight run");
    assertSameWeights(dir.resolve("a"), dir.resolve("b"));
    String timing = "\"(examples_per_sec|elapsed_s|broadcast_ms|compute_ms|averaging_ms|straggler_ms|aggregate_ms)\":[^,}]*,?";
    assertEquals(Files.readAllLines(dir.resolve("a/metrics.jsonl")).stream().map(l -> l.replaceAll(timing, ""))
        .toList(), Files.readAllLines(dir.resolve("b/metrics.jsonl")).stream().map(l -> l.replaceAll(timing, ""))
        .toList());

    ConfigException none = assertThrows(ConfigException.class, () -> ClassifyFinetune.run(null,
        ClassifyFinetuneTest.config(dir.resolve("c"), pa), QUIET));
    assertTrue(none.getMessage().contains("parameter_averaging needs a Spark session"), none.getMessage());
    ConfigException many = assertThrows(ConfigException.class, () -> ClassifyFinetune.run(spark,
        ClassifyFinetuneTest.config(dir.resolve("d"), "train.strategy=parameter_averaging", "train.workers=3"),
        QUIET));
    assertTrue(many.getMessage().contains("3 workers but Spark offers 2 cores"), many.getMessage());
    ConfigException bad = assertThrows(ConfigException.class, () -> ClassifyFinetuneTest.config(dir.resolve("e"),
        "train.strategy=horovod"));
    assertTrue(bad.getMessage().contains("train.strategy: 'horovod' is not one of"), bad.getMessage());
  }

  @Test
  void instructionFinetuneUnderTwoWorkersMemorisesAnswers(@TempDir Path dir) throws Exception {
    Path data = InstructionFacts.write(dir, 10);
    InstructConfig c = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), null, List.of(
        "data.path=" + data, "model.emb_dim=64", "model.n_heads=2", "model.n_layers=2", "model.context_length=64",
        "model.drop_rate=0", "train.epochs=30", "train.batch_size=4", "optimizer.lr=0.003", "optimizer.min_lr=0.003",
        "optimizer.weight_decay=0", "data.mask_prompt=true", "generate.max_new_tokens=8", "data.train_fraction=0.8",
        "data.val_fraction=0.1", "train.strategy=parameter_averaging", "train.workers=2",
        "train.averaging_frequency=2"), Map.of("out_dir", dir.resolve("run").toString()), null).validate();
    InstructFinetune.Result r = InstructFinetune.run(spark, c, QUIET);
    assertTrue(r.valLoss() < 0.3, "val loss " + r.valLoss());
    for (String line : Files.readAllLines(dir.resolve("run/" + InstructFinetune.RESPONSES))) {
      JsonNode n = JsonFiles.MAPPER.readTree(line);
      assertEquals(n.get("output").asText(), n.get("model_response").asText(), "memorised answer to "
          + n.get("instruction").asText());
    }
    List<String> metrics = Files.readAllLines(dir.resolve("run/metrics.jsonl"));
    JsonNode last = JsonFiles.MAPPER.readTree(metrics.get(metrics.size() - 1));
    assertEquals(30, last.get("epoch").asInt());
  }

  @Test
  void loraInstructionFinetuneUnderAveragingMergesAndExportsToHuggingFace(@TempDir Path dir) throws Exception {
    List<Map<String, String>> entries = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      entries.add(Map.of("instruction", "Repeat the number " + i + ".", "input", "", "output", "Number " + i + "."));
    }
    Path data = dir.resolve("numbers.json");
    Files.writeString(data, JsonFiles.MAPPER.writeValueAsString(entries));
    InstructConfig c = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), null, List.of(
        "data.path=" + data, "model.emb_dim=32", "model.n_heads=2", "model.n_layers=1", "model.context_length=64",
        "model.drop_rate=0", "train.epochs=2", "train.batch_size=4", "lora.r=2", "lora.alpha=4", "lora.dropout=0.1",
        "optimizer.lr=0.01", "optimizer.min_lr=0.01", "generate.max_new_tokens=4", "train.strategy=parameter_averaging",
        "train.workers=2"), Map.of("out_dir", dir.resolve("run").toString()), null).validate();
    InstructFinetune.run(spark, c, QUIET);
    assertTrue(latestWeights(dir.resolve("run")).keySet().stream().allMatch(k -> k.contains(".lora_")),
        "the run's checkpoints hold adapters only");
    Path hf = dir.resolve("hf");
    int rc = dev.sparkgpt.cli.Main.commandLine().execute("convert", "sparkgpt-to-hf", "--from",
        dir.resolve("run/merged").toString(), "--to", hf.toString());
    assertEquals(0, rc);
    var merged = dev.sparkgpt.checkpoint.Checkpoint.open(dir.resolve("run/merged").toString()).model();
    var exported = dev.sparkgpt.checkpoint.Checkpoint.open(hf.toString()).model();
    int[][] ids = {{15496, 11, 995, 0, 464, 3797}};
    assertArrayEquals(merged.logits(ids).data().asFloat(), exported.logits(ids).data().asFloat(), 0f,
        "the exported Hugging Face checkpoint computes the merged model's logits");
  }
}
