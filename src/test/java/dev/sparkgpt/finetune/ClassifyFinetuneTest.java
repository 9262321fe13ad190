package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.Trainable;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The classification finetune (the book's chapter 6) on the bundled SMS Spam Collection, with tiny models. */
class ClassifyFinetuneTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final String SPAM = "src/main/resources/data/finetune/SMSSpamCollection";

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  static ClassifyConfig config(Path out, String... sets) {
    List<String> all = new ArrayList<>(List.of("data.path=" + SPAM, "model_name=gpt2-tiny", "model.emb_dim=32",
        "model.n_heads=2", "model.n_layers=1", "model.context_length=64", "model.drop_rate=0", "data.max_length=48",
        "train.epochs=2", "train.batch_size=16", "train.trainable=all", "optimizer.lr=0.002",
        "optimizer.min_lr=0.002"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(ClassifyConfig.class, ClassifyConfig.defaults(), null, all,
        Map.of("out_dir", out.toString()), null).validate();
  }

  @Test
  void spamFromRandomBeatsTheMajorityBaselineClearlyAndResumesExactly(@TempDir Path dir) throws Exception {
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    ClassifyFinetune.Result straight = ClassifyFinetune.run(config(dir.resolve("a")),
        new PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(299, straight.test().n(), "20% of the 2 × 747 balanced examples");
    assertTrue(straight.test().accuracy() > 0.85, "test accuracy " + straight.test().accuracy()
        + " (majority baseline ≈ 0.5)");
    var confusion = JsonFiles.MAPPER.readTree(Files.readString(dir.resolve("a/confusion.json")));
    long total = 0;
    long right = 0;
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 2; j++) {
        total += confusion.at("/matrix/" + i + "/" + j).asLong();
        right += i == j ? confusion.at("/matrix/" + i + "/" + j).asLong() : 0;
      }
    }
    assertEquals(299, total);
    assertEquals(straight.test().accuracy(), right / 299.0, 1e-12);
    // metrics.jsonl: test loss and accuracy per epoch; the last epoch's are the final ones printed and in confusion.json
    List<com.fasterxml.jackson.databind.JsonNode> epochs = new ArrayList<>();
    com.fasterxml.jackson.databind.JsonNode last = null;
    for (String line : Files.readAllLines(dir.resolve("a/metrics.jsonl"))) {
      var node = JsonFiles.MAPPER.readTree(line);
      if (node.has("epoch") && !node.has(Finetuning.FINAL_KEY)) {
        epochs.add(node);
      }
      last = node;
    }
    assertEquals(2, epochs.size());
    for (var epoch : epochs) {
      for (String key : List.of("train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc")) {
        assertTrue(epoch.get(key).isNumber(), key + " in " + epoch);
      }
    }
    assertEquals(straight.test().accuracy(), epochs.get(1).get("test_acc").asDouble(), 0.0);
    assertEquals(straight.test().loss(), epochs.get(1).get("test_loss").asDouble(), 0.0);
    assertEquals(right / 299.0, epochs.get(1).get("test_acc").asDouble(), 1e-12);
    assertEquals(2, last.get("epoch").asInt());
    assertTrue(last.get(Finetuning.FINAL_KEY).asBoolean());
    assertEquals(straight.test().accuracy(), last.get("test_acc").asDouble(), 0.0);
    assertEquals(straight.test().loss(), last.get("test_loss").asDouble(), 0.0);
    String console = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(console.contains(String.format("finetune classify: test accuracy %.1f%% (299 examples;",
        100 * epochs.get(1).get("test_acc").asDouble())), console);
    assertTrue(console.contains(String.format("| test loss %.4f acc %.1f%% |", epochs.get(0).get("test_loss")
        .asDouble(), 100 * epochs.get(0).get("test_acc").asDouble())), console);

    ClassifyFinetune.run(config(dir.resolve("b"), "train.epochs=1"), QUIET);
    ClassifyFinetune.Result resumed = ClassifyFinetune.run(config(dir.resolve("b")), QUIET);
    assertEquals(straight.steps(), resumed.steps());
    assertEquals(straight.test().loss(), resumed.test().loss(), 0.0, "resumed after epoch 1 = straight run");
    assertArrayEquals(straight.test().confusion(), resumed.test().confusion());
    String timing = "\"(examples_per_sec|elapsed_s)\":[^,}]*,?";
    assertEquals(Files.readAllLines(dir.resolve("a/metrics.jsonl")).stream().map(l -> l.replaceAll(timing, "")).toList(),
        Files.readAllLines(dir.resolve("b/metrics.jsonl")).stream().map(l -> l.replaceAll(timing, "")).toList(),
        "the resumed run's metrics (epoch lines of the first run kept) equal the straight run's");

    // the checkpoint is a classifier: num_classes 2, head [2, C], and it labels texts
    GptModel model = Checkpoint.open(dir.resolve("a").toString()).model();
    assertEquals(2, model.config().numClasses());
    assertArrayEquals(new long[] {2, 32}, model.parameters().get(ParamNames.OUT_HEAD).shape());
    int[] spam = Tokenizers.load("gpt2").encode("WINNER!! You have won a £1000 prize. Call 09061701461 to claim");
    double[] p = ClassifyFinetune.probabilities(model, spam, 48);
    assertEquals(1.0, p[0] + p[1], 1e-9);
    assertTrue(p[1] > 0.5, "spam probability " + p[1]);
  }

  @Test
  void loraTrainsAdaptersOnlyAndTheMergedCheckpointScoresTheSame(@TempDir Path dir) throws Exception {
    // a base whose features know spam (one full epoch), then LoRA on it with a fresh head
    ClassifyFinetune.run(config(dir.resolve("base"), "train.epochs=1"), QUIET);
    ClassifyFinetune.Result r = ClassifyFinetune.run(config(dir.resolve("lora"), "lora.r=4", "lora.alpha=8",
        "optimizer.lr=0.01", "optimizer.min_lr=0.01", "train.epochs=1", "base_checkpoint=" + dir.resolve("base")),
        QUIET);
    assertTrue(r.test().accuracy() > 0.85, "LoRA test accuracy " + r.test().accuracy());
    var ck = new dev.sparkgpt.checkpoint.CheckpointStore(dir.resolve("lora").toString(), new Configuration(), 2).loadLatest()
        .orElseThrow();
    assertTrue(ck.weights().keySet().stream().allMatch(k -> k.contains(".lora_")), "adapters only: "
        + ck.weights().keySet());
    GptModel merged = Checkpoint.open(dir.resolve("lora/merged").toString()).model();
    ClassifyConfig c = config(dir.resolve("lora"));
    LabelledExamples.Splits splits = LabelledExamples.split(LabelledExamples.read(c.data(), new Configuration()),
        c.data(), c.seed());
    ClassifyFinetune.Encoded test = ClassifyFinetune.encode(splits.test(), Tokenizers.load("gpt2"), 48, new int[1]);
    assertArrayEquals(r.test().confusion(), ClassifyFinetune.score(merged, test, 2, 0, 16, 50256).confusion(),
        "the merged checkpoint classifies exactly as the adapted model");
    ConfigException e = assertThrows(ConfigException.class, () -> config(dir, "lora.r=4", "lora.dropout=1.0"));
    assertTrue(e.getMessage().contains("lora.dropout: 1.0 is outside [0, 1) (the probability of dropping an adapter "
        + "input). Fix: e.g. 0.05, or 0 for none"), e.getMessage());
  }

  @Test
  void aBaseTrainedWithAnotherTokenizerIsRefused(@TempDir Path dir) throws Exception {
    ClassifyFinetune.run(config(dir.resolve("base"), "train.epochs=1"), QUIET);
    Path state = dir.resolve("base/step-000066/state.json");
    assertTrue(Files.exists(state), "one epoch of 1046 examples in batches of 16 = 66 steps");
    var doc = (com.fasterxml.jackson.databind.node.ObjectNode) JsonFiles.MAPPER.readTree(Files.readString(state));
    ((com.fasterxml.jackson.databind.node.ObjectNode) doc.get("tokenizer")).put("hash", "0123abcd");
    Files.writeString(state, JsonFiles.MAPPER.writeValueAsString(doc));
    ConfigException e = assertThrows(ConfigException.class, () -> ClassifyFinetune.run(config(dir.resolve("next"),
        "base_checkpoint=" + dir.resolve("base")), QUIET));
    assertEquals("data.tokenizer: " + dir.resolve("base") + " was trained with another tokenizer than gpt2 "
        + "(vocabulary hash differs). Fix: set data.tokenizer to the checkpoint's tokenizer", e.getMessage());
  }

  @Test
  void theTargetIsTheLabelAtTheLastRealTokenOnly() {
    ClassifyFinetune.Encoded split = new ClassifyFinetune.Encoded(new int[][] {{5, 6, 7}, {8}}, new int[] {1, 0});
    TokenBatch b = ClassifyFinetune.batch(split, List.of(0, 1), 50256);
    assertArrayEquals(new int[][] {{5, 6, 7}, {8, 50256, 50256}}, b.inputs());
    int x = TokenBatch.IGNORE_INDEX;
    assertArrayEquals(new int[][] {{x, x, 1}, {0, x, x}}, b.targets());
  }

  @Test
  void frozenParametersStayBitIdentical(@TempDir Path dir) throws Exception {
    ModelConfig mc = new ModelConfig(50257, 64, 32, 2, 2, 0, false, false, 2);
    Set<String> frozen = ClassifyFinetune.frozen(mc, Trainable.LAST_BLOCK_AND_HEAD);
    assertTrue(frozen.contains(ParamNames.TOKEN_EMBEDDING) && frozen.contains(ParamNames.block(0,
        ParamNames.QKV_WEIGHT)), frozen.toString());
    assertTrue(!frozen.contains(ParamNames.OUT_HEAD) && !frozen.contains(ParamNames.block(1, ParamNames.QKV_WEIGHT))
        && !frozen.contains(ParamNames.FINAL_NORM_SCALE), frozen.toString());
    assertEquals(ParamNames.shapes(mc).size() - 1, ClassifyFinetune.frozen(mc, Trainable.HEAD).size());

    Path base = dir.resolve("base");
    ClassifyFinetune.run(config(base, "train.epochs=1", "model.n_layers=2"), QUIET);
    Path tuned = dir.resolve("tuned");
    ClassifyFinetune.run(config(tuned, "train.epochs=1", "base_checkpoint=" + base,
        "train.trainable=last_block_and_head"), QUIET);
    GptModel before = Checkpoint.open(base.toString()).model();
    GptModel after = Checkpoint.open(tuned.toString()).model();
    for (String name : before.parameters().names()) {
      INDArray a = before.parameters().get(name);
      INDArray b = after.parameters().get(name);
      if (name.equals(ParamNames.OUT_HEAD)) {
        continue; // a fresh head replaces the base's
      }
      if (frozen.contains(name)) {
        assertArrayEquals(a.castTo(DataType.FLOAT).ravel().toFloatVector(), b.castTo(DataType.FLOAT).ravel().toFloatVector(), 0f,
            name + " is frozen");
      } else if (name.contains("weight")) {
        assertNotEquals(a, b, name + " is trained");
      }
    }
  }

  @Test
  void badLabelsAndEmptyTextsAreNamedWithTheirLines(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("data.tsv");
    Files.writeString(file, "ham\thello\nspam\twin money\nHAM\tcaps\nmaybe\tunsure\n");
    ClassifyConfig c = config(dir.resolve("run"), "data.path=" + file);
    InputException e = assertThrows(InputException.class, () -> LabelledExamples.read(c.data(), new Configuration()));
    assertEquals(file + ": 2 label(s) not in data.labels [ham, spam]: line 3: 'HAM', line 4: 'maybe'. Fix: add them "
        + "to data.labels or correct the file", e.getMessage());
    Files.writeString(file, "ham\thello\nspam\t  \n");
    e = assertThrows(InputException.class, () -> LabelledExamples.read(c.data(), new Configuration()));
    assertEquals(file + " line 2: empty text. Fix: remove the line or give it text", e.getMessage());
    Files.writeString(file, "ham hello\n");
    e = assertThrows(InputException.class, () -> LabelledExamples.read(c.data(), new Configuration()));
    assertTrue(e.getMessage().startsWith(file + " line 1: no TAB between label and text"), e.getMessage());

    Path csv = dir.resolve("data.csv");
    Files.writeString(csv, "text,label\n\"hi, there\",ham\nfree prize,spam\n");
    assertEquals(List.of(new LabelledExamples.Example(0, "hi, there", 2), new LabelledExamples.Example(1,
        "free prize", 3)), LabelledExamples.read(config(dir, "data.path=" + csv, "data.format=csv").data(),
        new Configuration()));
    Path jsonl = dir.resolve("data.jsonl");
    Files.writeString(jsonl, "{\"text\": \"hi\", \"label\": \"ham\"}\n{\"label\": \"spam\"}\n");
    e = assertThrows(InputException.class, () -> LabelledExamples.read(config(dir, "data.path=" + jsonl,
        "data.format=jsonl").data(), new Configuration()));
    assertEquals(jsonl + " line 2: no 'text' field. Fix: set data.text_field / data.label_field", e.getMessage());

    ConfigException bad = assertThrows(ConfigException.class, () -> config(dir, "train.trainable=some"));
    assertTrue(bad.getMessage().contains("train.trainable: 'some' is not one of"), bad.getMessage());
  }

  @Test
  void splitsAreBalancedDeterministicAndDisjoint() {
    ClassifyConfig c = config(Path.of("unused"));
    List<LabelledExamples.Example> all = LabelledExamples.read(c.data(), new Configuration());
    assertEquals(5574, all.size());
    assertEquals(747, all.stream().filter(e -> e.label() == 1).count());
    LabelledExamples.Splits s = LabelledExamples.split(all, c.data(), 123);
    assertEquals(List.of(1046, 149, 299), List.of(s.train().size(), s.val().size(), s.test().size()));
    assertEquals(747, s.train().stream().filter(e -> e.label() == 1).count()
        + s.val().stream().filter(e -> e.label() == 1).count() + s.test().stream().filter(e -> e.label() == 1).count());
    assertEquals(s, LabelledExamples.split(all, c.data(), 123));
    Set<Integer> lines = new java.util.HashSet<>();
    List.of(s.train(), s.val(), s.test()).forEach(part -> part.forEach(e -> assertTrue(lines.add(e.line()))));

    // unbalanced: the book's 70/10/20 of all 5,574 messages
    ClassifyConfig all5574 = config(Path.of("unused"), "data.balance=false");
    LabelledExamples.Splits u = LabelledExamples.split(all, all5574.data(), 123);
    assertEquals(List.of(3902, 557, 1115), List.of(u.train().size(), u.val().size(), u.test().size()));
  }

  @Test
  void examplesLongerThanMaxLengthAreTruncatedAndCounted(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("data.tsv");
    List<String> rows = new ArrayList<>();
    try (var lines = Files.lines(Path.of(SPAM))) {
      lines.limit(40).forEach(rows::add);
    }
    Files.write(file, rows);
    ClassifyConfig c = config(dir.resolve("run"), "data.path=" + file, "data.balance=false", "data.max_length=12",
        "train.epochs=1");
    var tok = Tokenizers.load("gpt2");
    long longer = LabelledExamples.read(c.data(), new Configuration()).stream()
        .filter(e -> tok.encode(e.text()).length > 12).count();
    assertTrue(longer > 5 && longer < 40, "some but not all of the 40 are longer: " + longer);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    ClassifyFinetune.run(c, new PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
    String console = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(console.contains("finetune classify: 28 train / 4 val / 8 test examples, labels [ham, spam], max length "
        + "12 tokens (" + longer + " longer examples truncated)\n"), console);
  }
}
