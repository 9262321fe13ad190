package dev.sparkgpt.cli;

import dev.sparkgpt.checkpoint.CheckpointState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.finetune.BaseModels;
import dev.sparkgpt.finetune.Classifier;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.finetune.InstructFinetune;
import dev.sparkgpt.finetune.InstructionFacts;
import dev.sparkgpt.generate.ChatSession;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.LoraAdapters;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code sparkgpt merge} and adapter-only LoRA checkpoints read directly by {@code classify}, {@code generate} and
 * {@code chat}: a merged epoch-1 step equals the adapted model (base + adapters) and the in-memory model a one-epoch
 * run ended with, on a classify and an instruct LoRA finetune.
 */
class MergeCommandTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final Tokenizer TOK = Tokenizers.load("gpt2");
  private static final int[][] PROBE = {TOK.encode("WINNER!! You have won a prize, call now"),
      TOK.encode("Ok see you at home later")};

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  /** 60 labelled lines of the bundled SMS Spam Collection, unbalanced: a few seconds per epoch. */
  private static Path smallSpam(Path dir) throws IOException {
    Path file = dir.resolve("spam.tsv");
    try (Stream<String> lines = Files.lines(Path.of("src/main/resources/data/finetune/SMSSpamCollection"))) {
      Files.write(file, lines.limit(60).toList());
    }
    return file;
  }

  private static ClassifyConfig classify(Path out, Path data, String... sets) {
    List<String> all = new ArrayList<>(List.of("data.path=" + data, "data.balance=false", "model.emb_dim=32",
        "model.n_heads=2", "model.n_layers=1", "model.context_length=64", "model.drop_rate=0", "data.max_length=32",
        "train.batch_size=8", "train.trainable=all", "optimizer.lr=0.01", "optimizer.min_lr=0.01"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(ClassifyConfig.class, ClassifyConfig.defaults(), null, all,
        Map.of("out_dir", out.toString()), null).validate();
  }

  private static InstructConfig instruct(Path out, Path data, String... sets) {
    List<String> all = new ArrayList<>(List.of("data.path=" + data, "model.emb_dim=32", "model.n_heads=2",
        "model.n_layers=1", "model.context_length=64", "model.drop_rate=0", "train.batch_size=8",
        "optimizer.lr=0.01", "optimizer.min_lr=0.01", "generate.max_new_tokens=4", "data.train_fraction=0.8",
        "data.val_fraction=0.1"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), null, all,
        Map.of("out_dir", out.toString()), null).validate();
  }

  private static Path stepOfEpoch(Path run, int epoch) throws IOException {
    try (Stream<Path> dirs = Files.list(run)) {
      for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith("step-")).sorted().toList()) {
        if (JsonFiles.MAPPER.readTree(d.resolve(CheckpointStore.STATE).toFile()).path("epoch").asInt() == epoch) {
          return d;
        }
      }
    }
    throw new AssertionError("no checkpoint of epoch " + epoch + " in " + run);
  }

  private static double maxDiff(INDArray a, INDArray b) {
    return a.sub(b).amaxNumber().doubleValue();
  }

  /** The adapted model as the finetune computes with it: the base as it built it, the step's adapters applied. */
  private static GptModel adapted(String base, String modelName, Map<String, Object> overrides, long seed,
      int classes, Path step, int r, double alpha, List<String> targets) {
    GptModel model = BaseModels.load(base, modelName, overrides, TOK, seed, classes);
    LoraAdapters lora = new LoraAdapters(model.config(), model.parameters(), r, alpha, targets, seed);
    CheckpointState ck = new CheckpointStore(step.getParent().toString(), new Configuration(), 1)
        .load(new org.apache.hadoop.fs.Path(step.toString()));
    lora.parameters().names().forEach(n -> lora.parameters().set(n, ck.weights().get(n)));
    new dev.sparkgpt.train.LoraStepModel(model, new PretrainConfig.Optimizer(1e-3, 1e-3, 0, 0.9, 0.999, 1e-8), lora);
    return model;
  }

  /**
   * Merges {@code step} through the CLI into {@code out} and checks its logits against {@code reference} (base +
   * adapters), the model a one-epoch run ended with ({@code merged1}) and the adapter directory loaded directly.
   */
  private static GptModel mergeEqualsAdapted(Path step, Path out, Path merged1, GptModel reference) {
    String[] r = MainTest.run("", "merge", "--checkpoint", step.toString(), "--out", out.toString());
    assertEquals("0", r[0], r[2]);
    assertEquals("merge: " + step + " -> " + out, r[1].strip());
    assertTrue(Files.exists(out.resolve(OutputDir.SUCCESS)) && Files.exists(out.resolve(CheckpointStore.LATEST)));
    GptModel fromMerge = Checkpoint.open(out.toString()).model();
    for (int[] ids : PROBE) {
      INDArray expected = reference.logits(new int[][] {ids});
      assertTrue(maxDiff(expected, fromMerge.logits(new int[][] {ids})) <= 1e-6, "merge = base + adapters");
      assertTrue(maxDiff(expected, Checkpoint.open(merged1.toString()).model().logits(new int[][] {ids})) <= 1e-6,
          "merge of the epoch-1 step = what the one-epoch run ended with");
      assertTrue(maxDiff(expected, Checkpoint.open(step.toString()).model().logits(new int[][] {ids})) <= 1e-6,
          "the adapter directory itself loads merged on the fly");
    }
    return fromMerge;
  }

  /** Runs a one-epoch LoRA finetune, keeps its merged model, continues to two epochs; returns the merged copy. */
  private static Path oneThenTwoEpochs(Path run, Runnable oneEpoch, Runnable twoEpochs) throws IOException {
    oneEpoch.run();
    Path merged1 = run.resolveSibling(run.getFileName() + "-merged-epoch1");
    Files.move(run.resolve("merged"), merged1);
    twoEpochs.run();
    return merged1;
  }

  @Test
  void mergedClassifyStepEqualsTheAdaptedModelAndLoraDirsWorkInClassify(@TempDir Path dir) throws Exception {
    Path data = smallSpam(dir);
    Path base = dir.resolve("base");
    ClassifyFinetune.run(classify(base, data, "train.epochs=1"), QUIET);
    Path lora = dir.resolve("lora");
    String[] loraSets = {"base_checkpoint=" + base, "lora.r=2", "lora.alpha=4", "train.trainable=all"};
    Path merged1 = oneThenTwoEpochs(lora,
        () -> ClassifyFinetune.run(classify(lora, data, concat(loraSets, "train.epochs=1")), QUIET),
        () -> ClassifyFinetune.run(classify(lora, data, concat(loraSets, "train.epochs=2")), QUIET));
    Path step1 = stepOfEpoch(lora, 1);

    Path out = dir.resolve("merged");
    ClassifyConfig c = classify(lora, data, loraSets);
    GptModel reference = adapted(base.toString(), c.modelName(), c.model(), c.seed(), 2, step1, 2, 4,
        c.lora().targets());
    mergeEqualsAdapted(step1, out, merged1, reference);
    var state = JsonFiles.MAPPER.readTree(Files.readString(stepOfPlain(out).resolve(CheckpointStore.STATE)));
    assertFalse(state.has("lora"), "a plain checkpoint");
    assertEquals(List.of("ham", "spam"), List.of(state.at("/labels/0").asText(), state.at("/labels/1").asText()));
    assertTrue(maxDiff(reference.logits(new int[][] {PROBE[0]}), Checkpoint.open(lora.toString()).model()
        .logits(new int[][] {PROBE[0]})) > 1e-4, "epoch 2 differs from epoch 1: the step directory was merged");

    // classify through the CLI prints label + probability as Classifier computes them, on plain and adapter dirs
    String text = "WINNER!! You have won a prize, call now";
    for (Path checkpoint : List.of(base, step1, lora)) {
      Classifier.Loaded cl = Classifier.load(checkpoint.toString());
      double[] p = ClassifyFinetune.probabilities(cl.model(), TOK.encode(text), cl.maxLength());
      int best = p[1] > p[0] ? 1 : 0;
      String[] printed = MainTest.run("", "classify", "--checkpoint", checkpoint.toString(), "--text", text);
      assertEquals("0", printed[0], printed[2]);
      assertEquals(String.format("%s %.4f", cl.labels().get(best), p[best]), printed[1].strip());
    }
    String[] viaMerged = MainTest.run("", "classify", "--checkpoint", out.toString(), "--text", text);
    assertEquals(MainTest.run("", "classify", "--checkpoint", step1.toString(), "--text", text)[1], viaMerged[1]);

    // merge refuses a non-empty --out and a plain checkpoint
    String[] r = MainTest.run("", "merge", "--checkpoint", step1.toString(), "--out", out.toString());
    assertEquals("2", r[0]);
    assertEquals("error: " + out + ": exists and is not empty. Fix: choose another --out or remove it", r[2].strip());
    r = MainTest.run("", "merge", "--checkpoint", base.toString(), "--out", dir.resolve("x").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("is not a LoRA finetune checkpoint"), r[2]);
    assertFalse(Files.exists(dir.resolve("x")));
  }

  @Test
  void mergedInstructStepEqualsTheAdaptedModelAndChatUsesTheCheckpointsTemplate(@TempDir Path dir) throws Exception {
    Path data = InstructionFacts.write(dir, 5);
    Path lora = dir.resolve("lora");
    String[] sets = {"lora.r=2", "lora.alpha=4", "lora.targets=[attn_qkv, mlp_fc, mlp_proj]", "data.template=phi3"};
    Path merged1 = oneThenTwoEpochs(lora,
        () -> InstructFinetune.run(instruct(lora, data, concat(sets, "train.epochs=1")), QUIET),
        () -> InstructFinetune.run(instruct(lora, data, concat(sets, "train.epochs=2")), QUIET));
    Path step1 = stepOfEpoch(lora, 1);
    Path out = dir.resolve("merged");
    InstructConfig c = instruct(lora, data, sets);
    GptModel reference = adapted("random", c.modelName(), c.model(), c.seed(), 0, step1, 2, 4,
        List.of("attn_qkv", "mlp_fc", "mlp_proj"));
    GptModel fromMerge = mergeEqualsAdapted(step1, out, merged1, reference);

    // generate reads the adapter directory directly: the same text as from the merged checkpoint
    String[] direct = MainTest.run("", "generate", "--checkpoint", step1.toString(), "--prompt", "Hello",
        "--max-new-tokens", "5");
    assertEquals("0", direct[0], direct[2]);
    assertEquals(MainTest.run("", "generate", "--checkpoint", out.toString(), "--prompt", "Hello",
        "--max-new-tokens", "5")[1], direct[1]);

    // chat asks in the template the checkpoint records (phi3), for the adapter and the merged directory
    Generator generator = new Generator(new GptStepModel(fromMerge, null).scorer(), TOK);
    StringBuilder expected = new StringBuilder();
    new ChatSession(generator, TOK, InstructionTemplate.PHI3, 64, 6, Sampler.greedy())
        .reply("Name the capital of France.", expected::append);
    StringBuilder alpaca = new StringBuilder();
    new ChatSession(generator, TOK, InstructionTemplate.ALPACA, 64, 6, Sampler.greedy())
        .reply("Name the capital of France.", alpaca::append);
    assertFalse(alpaca.toString().equals(expected.toString()), "the two formats get different answers: " + alpaca);
    for (Path checkpoint : List.of(step1, out)) {
      String[] chat = MainTest.run("Name the capital of France.\n/quit\n", "chat", "--checkpoint",
          checkpoint.toString(), "--max-new-tokens", "6");
      assertEquals("0", chat[0], chat[2]);
      assertTrue(chat[1].startsWith("chat: phi3 instruction format;"), chat[1]);
      assertTrue(chat[1].contains("model> " + expected + "\n"), chat[1] + " vs " + expected);
    }
  }

  @Test
  void anAdapterDirWhoseBaseMovedNamesItAndMergeTakesTheNewPlace(@TempDir Path dir) throws Exception {
    Path data = smallSpam(dir);
    Path base = dir.resolve("base");
    ClassifyFinetune.run(classify(base, data, "train.epochs=1"), QUIET);
    Path lora = dir.resolve("lora");
    ClassifyFinetune.run(classify(lora, data, "base_checkpoint=" + base, "lora.r=2", "train.epochs=1"), QUIET);
    Path moved = dir.resolve("moved-base");
    Files.move(base, moved);
    Path step = stepOfEpoch(lora, 1);

    String[] r = MainTest.run("", "classify", "--checkpoint", step.toString(), "--text", "hello");
    assertEquals("2", r[0]);
    assertEquals("error: " + step + " holds LoRA adapters only and its base checkpoint " + base + " is not readable. "
        + "Fix: sparkgpt merge --checkpoint " + step + " --base BASE_DIR --out DIR (BASE_DIR: where that base is "
        + "now), then use DIR", r[2].strip());

    Path out = dir.resolve("merged");
    r = MainTest.run("", "merge", "--checkpoint", lora.toString(), "--base", moved.toString(), "--out",
        out.toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(maxDiff(Checkpoint.open(lora.resolve("merged").toString()).model().logits(new int[][] {PROBE[0]}),
        Checkpoint.open(out.toString()).model().logits(new int[][] {PROBE[0]})) <= 1e-6);
    ObjectNode state = (ObjectNode) JsonFiles.MAPPER.readTree(stepOfPlain(out).resolve(CheckpointStore.STATE)
        .toFile());
    assertEquals(moved.toString(), state.get("base_checkpoint").asText());
    assertEquals(step.toString(), state.get("merged_from").asText());
  }

  private static Path stepOfPlain(Path run) throws IOException {
    return run.resolve(Files.readString(run.resolve(CheckpointStore.LATEST)).strip());
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
