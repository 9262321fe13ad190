package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.ShardFormatException;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.model.ModelLoader;
import dev.sparkgpt.train.TrainingLoop;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The pretrain job end to end with a tiny GPT (GPT-2 vocabulary, width 16) on the-verdict. */
class PretrainJobTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final String VERDICT = "src/main/resources/data/corpora/the-verdict.txt";

  static PretrainConfig tiny(Path out, String... sets) {
    return tiny(out.toString(), sets);
  }

  /** As {@link #tiny(Path, String...)} with an out_dir given as a Hadoop path (hdfs://…). */
  static PretrainConfig tiny(String out, String... sets) {
    List<String> all = new ArrayList<>(List.of("model_name=gpt2-tiny", "model.emb_dim=16", "model.n_heads=2",
        "model.n_layers=1", "model.context_length=32", "model.drop_rate=0.1", "data.text=" + VERDICT,
        "train.micro_batch_size=2", "train.global_batch_size=4", "train.max_steps=20", "train.lr_warmup_steps=0",
        "train.log_interval=1", "train.save_interval=10", "eval.interval=10", "eval.max_iters=2",
        "eval.max_new_tokens=3", "optimizer.lr=0.01", "optimizer.min_lr=0.01"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, all,
        Map.of("out_dir", out), null).validate();
  }

  @Test
  void stoppedAndResumedRunEqualsAStraightRunBitForBit(@TempDir Path dir) throws Exception {
    TrainingLoop.Result straight = PretrainJob.run(null, tiny(dir.resolve("a")), QUIET);
    assertEquals(20, straight.step());
    PretrainJob.run(null, tiny(dir.resolve("b"), "train.max_steps=10"), QUIET);
    TrainingLoop.Result resumed = PretrainJob.run(null, tiny(dir.resolve("b")), QUIET);
    assertEquals(20, resumed.step());
    assertEquals(straight.trainLoss(), resumed.trainLoss(), 0.0);
    assertEquals(straight.valLoss(), resumed.valLoss(), 0.0);
    CheckpointStore.Loaded a = new CheckpointStore(dir.resolve("a").toString(), HadoopConf.create(), 3).loadLatest()
        .orElseThrow();
    CheckpointStore.Loaded b = new CheckpointStore(dir.resolve("b").toString(), HadoopConf.create(), 3).loadLatest()
        .orElseThrow();
    for (Map.Entry<String, INDArray> w : a.weights().entrySet()) {
      assertArrayEquals(w.getValue().ravel().toFloatVector(), b.weights().get(w.getKey()).ravel().toFloatVector(), 0f,
          w.getKey());
    }
    for (Map.Entry<String, INDArray> m : a.optimizer().entrySet()) {
      assertArrayEquals(m.getValue().ravel().toFloatVector(), b.optimizer().get(m.getKey()).ravel().toFloatVector(),
          0f, m.getKey());
    }
    List<String> la = Files.readAllLines(dir.resolve("a/metrics.jsonl"));
    List<String> lb = Files.readAllLines(dir.resolve("b/metrics.jsonl"));
    assertEquals(la.size(), lb.size());
    for (int i = 0; i < la.size(); i++) {
      assertEquals(la.get(i).replaceAll("\"(tokens_per_sec|mfu|elapsed_s)\":[^,}]*", ""),
          lb.get(i).replaceAll("\"(tokens_per_sec|mfu|elapsed_s)\":[^,}]*", ""), "metrics line " + i);
    }
  }

  @Test
  void aTinyGptOverfitsAFewHundredTokens(@TempDir Path dir) throws Exception {
    Path text = dir.resolve("few.txt");
    Files.writeString(text, Files.readString(Path.of(VERDICT)).substring(0, 1000)); // ~220 tokens
    TrainingLoop.Result r = PretrainJob.run(null, tiny(dir.resolve("run"), "data.text=" + text,
        "model.emb_dim=32", "model.drop_rate=0", "train.max_steps=150", "optimizer.lr=0.02", "optimizer.min_lr=0.002",
        "train.lr_warmup_steps=10", "data.val_fraction=0.2", "eval.interval=0", "train.save_interval=1000",
        "optimizer.weight_decay=0"), QUIET);
    assertTrue(r.trainLoss() < 0.5, "train loss after 150 steps: " + r.trainLoss());
  }

  @Test
  void aTinyLlamaTrainsThroughTheSameLoop(@TempDir Path dir) throws Exception {
    // conf/model/llama-tiny.yaml (RMSNorm, SwiGLU, RoPE, grouped-query attention, untied head) shrunk to width 32
    Path text = dir.resolve("few.txt");
    Files.writeString(text, Files.readString(Path.of(VERDICT)).substring(0, 1000)); // ~220 tokens
    TrainingLoop.Result r = PretrainJob.run(null, tiny(dir.resolve("run"), "model_name=llama-tiny",
        "data.text=" + text, "model.emb_dim=32", "model.hidden_dim=64", "model.drop_rate=0", "train.max_steps=150",
        "optimizer.lr=0.02", "optimizer.min_lr=0.002", "train.lr_warmup_steps=10", "data.val_fraction=0.2",
        "eval.interval=0", "train.save_interval=1000", "optimizer.weight_decay=0"), QUIET);
    assertTrue(r.trainLoss() < 0.5, "train loss after 150 steps: " + r.trainLoss());
    ModelLoader.Loaded loaded = ModelLoader.load(dir.resolve("run").toString());
    assertTrue(loaded.model().config().usesRope() && loaded.model().config().numKvGroups() == 2,
        loaded.model().config().toString());
  }

  @Test
  void dataThatDoesNotFitTheModelIsRefusedWithTheFix(@TempDir Path dir) throws Exception {
    Path shards = dir.resolve("shards");
    TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=16"), Map.of("input", List.of(VERDICT), "output", shards.toString()), null), QUIET);
    ShardFormatException e = assertThrows(ShardFormatException.class, () -> PretrainJob.run(null,
        tiny(dir.resolve("run"), "data.text=null", "data.shards=" + shards), QUIET));
    assertTrue(e.getMessage().contains("seq_len=16") && e.getMessage().contains("--seq-len 32"), e.getMessage());

    ConfigException v = assertThrows(ConfigException.class, () -> PretrainJob.run(null,
        tiny(dir.resolve("run2"), "model.vocab_size=1000"), QUIET));
    assertTrue(v.getMessage().startsWith("model.vocab_size: 1000 is smaller than the tokenizer's vocabulary"),
        v.getMessage());
  }

  @Test
  void parameterAveragingWithOneWorkerEqualsTheLocalRun(@TempDir Path dir) {
    TrainingLoop.Result local = PretrainJob.run(null, tiny(dir.resolve("local"), "model.drop_rate=0",
        "train.max_steps=6", "eval.interval=6"), QUIET);
    TrainingLoop.Result averaged = PretrainJob.run(spark, tiny(dir.resolve("pa"), "model.drop_rate=0",
        "train.max_steps=6", "eval.interval=6", "train.strategy=parameter_averaging", "train.workers=1",
        "train.averaging_frequency=1"), QUIET);
    assertEquals(local.trainLoss(), averaged.trainLoss(), 0.0);
    assertEquals(local.valLoss(), averaged.valLoss(), 0.0);
    TrainingLoop.Result two = PretrainJob.run(spark, tiny(dir.resolve("pa2"), "model.drop_rate=0",
        "train.max_steps=6", "eval.interval=6", "train.strategy=parameter_averaging", "train.workers=2",
        "train.averaging_frequency=3"), QUIET);
    assertEquals(6, two.step());
    assertTrue(two.valLoss() < 10.9, "learned something: " + two.valLoss());
  }
}
