package dev.sparkgpt.jobs;

import dev.sparkgpt.checkpoint.CheckpointState;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.ShardFormatException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.PretrainData;
import dev.sparkgpt.train.TrainingLoop;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

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
    CheckpointState a = new CheckpointStore(dir.resolve("a").toString(), HadoopConf.create(), 3).loadLatest()
        .orElseThrow();
    CheckpointState b = new CheckpointStore(dir.resolve("b").toString(), HadoopConf.create(), 3).loadLatest()
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
    GptModel loadedModel = Checkpoint.open(dir.resolve("run").toString()).model();
    assertTrue(loadedModel.config().usesRope() && loadedModel.config().numKvGroups() == 2,
        loadedModel.config().toString());
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

  static final String GPT2_HF = "src/test/resources/fixtures/gpt2-hf-tiny";
  static final String LLAMA_HF = "src/test/resources/fixtures/llama-hf-tiny";

  /** A run of 4-window steps starting from {@code initFrom} on {@code shards} (unshuffled: step 1 sees windows 0-3). */
  private static PretrainConfig fromCheckpoint(Path out, String initFrom, String data, String... sets) {
    List<String> all = new ArrayList<>(List.of(data, "init_from=" + initFrom, "model.drop_rate=0",
        "data.shuffle=false", "train.micro_batch_size=4", "train.global_batch_size=4", "train.max_steps=8",
        "train.lr_warmup_steps=0", "train.log_interval=1", "train.save_interval=100", "eval.interval=8",
        "eval.max_iters=1", "eval.max_new_tokens=3", "optimizer.lr=0.005", "optimizer.min_lr=0.005"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, all,
        Map.of("out_dir", out.toString()), null).validate();
  }

  @Test
  void pretrainingFromTheHuggingFaceGpt2FixtureStartsFromItsWeightsAndLowersTheLoss(@TempDir Path dir)
      throws Exception {
    dev.sparkgpt.model.OneThread.pin(); // a 50,257-row head: two OpenMP threads on a shared machine only wait
    Path shards = dir.resolve("shards");
    TokenizeJob.run(spark, ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=128", "split=tokens", "val_fraction=0.1"),
        Map.of("input", List.of(VERDICT), "output", shards.toString()), null), QUIET);
    PretrainConfig config = fromCheckpoint(dir.resolve("run"), GPT2_HF, "data.shards=" + shards);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    TrainingLoop.Result r = PretrainJob.run(null, config, new PrintStream(console, true, StandardCharsets.UTF_8));

    // the Hugging Face model itself, on the same windows: step 0's validation loss and step 1's training loss (the
    // forward pass before the first update) are its losses, so training started from exactly its weights
    GptModel hf = Checkpoint.open(GPT2_HF).model();
    PretrainData data = PretrainData.load(config.data(), 128, 50257, Tokenizers.gpt2(), 64, HadoopConf.create());
    int[] val = java.util.stream.IntStream.range(0, Math.min(4, data.val().size())).toArray();
    double valLoss = hf.loss(new TokenBatch(data.val().inputs(val), data.val().targets(val)));
    String printed = console.toString(StandardCharsets.UTF_8);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("pretrain: weights of " + GPT2_HF
        + ": val loss ([0-9.]+) at step 0").matcher(printed);
    assertTrue(m.find(), printed);
    assertEquals(valLoss, Double.parseDouble(m.group(1)), 1e-6);
    int[] first = {0, 1, 2, 3};
    TrainingWindows block0 = data.train().read(0);
    double firstLoss = hf.loss(new TokenBatch(block0.inputs(first), block0.targets(first)));
    JsonNode step1 = JsonFiles.MAPPER.readTree(Files.readAllLines(dir.resolve("run/metrics.jsonl")).get(0));
    assertEquals(1, step1.get("step").asInt());
    assertEquals(firstLoss, step1.get("train_loss").asDouble(), 1e-5);

    assertEquals(8, r.step());
    assertTrue(r.valLoss() < valLoss - 1, "val loss " + valLoss + " at step 0, " + r.valLoss() + " at step 8");
    GptModel trainedModel = Checkpoint.open(dir.resolve("run").toString()).model();
    Map<String, Object> expected = new java.util.LinkedHashMap<>(ModelConfigs.describe(hf.config()));
    expected.put("drop_rate", 0.0); // the one override init_from allows
    assertEquals(expected, ModelConfigs.describe(trainedModel.config()), "the Hugging Face architecture");

    // a later run with the same out_dir resumes (resume: auto) rather than starting from init_from again
    ByteArrayOutputStream again = new ByteArrayOutputStream();
    TrainingLoop.Result resumed = PretrainJob.run(null, fromCheckpoint(dir.resolve("run"), GPT2_HF,
        "data.shards=" + shards, "train.max_steps=9"), new PrintStream(again, true, StandardCharsets.UTF_8));
    assertEquals(9, resumed.step());
    String second = again.toString(StandardCharsets.UTF_8);
    assertTrue(second.contains("resumed from") && !second.contains("at step 0"), second);
  }

  @Test
  void aBadInitFromIsOneClearError(@TempDir Path dir) throws Exception {
    StringWriter err = new StringWriter();
    CommandLine cli = Jobs.commandLine(new PretrainJob());
    cli.setErr(new PrintWriter(err, true));
    Path missing = dir.resolve("no-such-model");
    assertEquals(2, cli.execute("--init-from", missing.toString(), "--set", "data.text=" + VERDICT, "--out-dir",
        dir.resolve("run").toString()));
    assertEquals("error: " + missing + ": no such directory. Fix: point init_from at a SparkGPT run or step-NNNNNN "
        + "directory or a Hugging Face GPT-2/Llama directory", err.toString().trim());
    assertTrue(!Files.exists(dir.resolve("run")), "nothing written");

    CheckpointException notOne = assertThrows(CheckpointException.class, () -> PretrainJob.run(null,
        fromCheckpoint(dir.resolve("run"), dir.toString(), "data.text=" + VERDICT), QUIET));
    assertTrue(notOne.getMessage().startsWith(dir + ": not a checkpoint") && notOne.getMessage().endsWith(
        "Fix: point init_from at one of those"), notOne.getMessage());

    ConfigException architecture = assertThrows(ConfigException.class, () -> PretrainJob.run(null,
        fromCheckpoint(dir.resolve("run"), GPT2_HF, "data.text=" + VERDICT, "model.n_layers=4",
            "model.context_length=64"), QUIET));
    assertEquals("model: init_from " + GPT2_HF + " fixes the architecture, but the overrides change "
        + "model.context_length 128 -> 64, model.n_layers 2 -> 4. Fix: drop those overrides (only model.drop_rate "
        + "may change), or remove init_from to train model_name from scratch", architecture.getMessage());

    ConfigException vocabulary = assertThrows(ConfigException.class, () -> PretrainJob.run(null,
        fromCheckpoint(dir.resolve("run"), LLAMA_HF, "data.text=" + VERDICT), QUIET));
    assertEquals("data.tokenizer: gpt2 has 50257 ids but " + LLAMA_HF + " only 32000. Fix: use the tokenizer the "
        + "model was trained with", vocabulary.getMessage());
    assertTrue(!Files.exists(dir.resolve("run")), "nothing written");
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
