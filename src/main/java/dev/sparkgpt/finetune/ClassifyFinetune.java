package dev.sparkgpt.finetune;

import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.config.Trainable;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.GptStepModel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The book's chapter 6 as a job: a GPT whose LM head is replaced by one row per label, trained with cross-entropy on
 * the last real (non-pad) token of each example — every other target is the ignore index, so the pretraining
 * machinery (TrainStep, AdamW, checkpoints) is reused unchanged. Batches are padded with {@code <|endoftext|>} to
 * their longest example (a causal model's last real token never sees the padding after it). One checkpoint per epoch;
 * a re-run continues after the last finished epoch.
 */
public final class ClassifyFinetune {
  /** A split as token ids (truncated to the max length) and class ids. */
  record Encoded(int[][] ids, int[] labels) {
    int size() {
      return labels.length;
    }
  }

  /** Loss, accuracy and confusion counts (rows: true label, columns: predicted) of a split. */
  public record Score(double loss, double accuracy, long[][] confusion, int n) {}

  /** How the run ended. */
  public record Result(int epochs, Score train, Score val, Score test, long steps) {}

  private ClassifyFinetune() {}

  public static Result run(ClassifyConfig config, PrintStream console) {
    return run(null, config, console);
  }

  /** Finetunes as configured; {@code spark} may be null for the local strategy. */
  public static Result run(SparkSession spark, ClassifyConfig config, PrintStream console) {
    config.validate();
    Configuration conf = spark == null ? HadoopConf.create() : spark.sparkContext().hadoopConfiguration();
    Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), conf).get();
    List<String> labels = config.data().labels();
    GptModel model = BaseModels.load(config.baseCheckpoint(), config.modelName(), config.model(), tok, config.seed(),
        labels.size());
    ModelConfig mc = model.config();

    LabelledExamples.Splits splits = LabelledExamples.split(LabelledExamples.read(config.data(), conf), config.data(),
        config.seed());
    int longest = 0;
    for (LabelledExamples.Example e : splits.train()) {
      longest = Math.max(longest, tok.encode(e.text()).length);
    }
    int maxLength = Math.min(mc.contextLength(), config.data().maxLength() > 0 ? config.data().maxLength() : longest);
    int[] truncated = {0};
    Encoded train = encode(splits.train(), tok, maxLength, truncated);
    Encoded val = encode(splits.val(), tok, maxLength, truncated);
    Encoded test = encode(splits.test(), tok, maxLength, truncated);
    console.printf("finetune classify: %d train / %d val / %d test examples, labels %s, max length %d tokens%s%n",
        train.size(), val.size(), test.size(), labels, maxLength,
        truncated[0] > 0 ? " (" + truncated[0] + " longer examples truncated)" : "");

    Set<String> frozen = frozen(mc, config.train().trainable());
    GptStepModel step = BaseModels.trainable(model, config.optimizer(), config.lora(), frozen, config.seed(),
        "finetune classify", console);
    ClassifyConfig.Train t = config.train();
    AveragingRounds rounds = FinetuneWorkers.rounds(spark, t.strategy(), t.workers(), model, step,
        config.optimizer(), config.lora(), frozen, config.seed());
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("kind", "classify");
    state.put("labels", labels);
    state.put("max_length", maxLength);
    state.put("model", ModelConfigs.describe(mc));
    state.put("tokenizer", Map.of("name", tok.name(), "hash", tok.hash()));
    state.put("base_checkpoint", config.baseCheckpoint());
    state.put("config_yaml", ConfigLoader.toYaml(config));
    if (config.lora().r() > 0) {
      state.put("lora", Map.of("r", config.lora().r(), "alpha", config.lora().alpha(), "targets",
          config.lora().targets()));
    }
    Score[] last = new Score[2];
    Score[] testScore = new Score[1]; // the whole test split after the latest epoch
    Finetuning.EpochEnd end = (epoch, trainLoss, rate) -> {
      last[0] = score(model, train, labels.size(), t.evalBatches(), t.batchSize(), tok.eotId());
      last[1] = score(model, val, labels.size(), t.evalBatches(), t.batchSize(), tok.eotId());
      testScore[0] = score(model, test, labels.size(), 0, t.batchSize(), tok.eotId());
      console.printf("epoch %d/%d | train loss %.4f acc %.1f%% | val loss %.4f acc %.1f%% | test loss %.4f acc "
          + "%.1f%% | %.0f examples/s%n", epoch, t.epochs(), trainLoss, 100 * last[0].accuracy(), last[1].loss(),
          100 * last[1].accuracy(), testScore[0].loss(), 100 * testScore[0].accuracy(), rate);
      return Map.of("val_loss", last[1].loss(), "train_acc", last[0].accuracy(), "val_acc", last[1].accuracy(),
          "test_loss", testScore[0].loss(), "test_acc", testScore[0].accuracy());
    };
    Finetuning.Outcome done = Finetuning.job(Finetuning.Settings.of(config.outDir(), t, config.optimizer().lr(),
        config.seed(), "finetune classify"), step)
        .examples(train.size(), rows -> batch(train, rows, tok.eotId()))
        .rounds(rounds)
        .onEpochEnd(end)
        .state(state)
        .finalLine(epochs -> {
          if (testScore[0] == null) { // a finished run continued: no epoch ran here
            testScore[0] = score(model, test, labels.size(), 0, t.batchSize(), tok.eotId());
          }
          return Map.of("epoch", epochs, "test_loss", testScore[0].loss(), "test_acc", testScore[0].accuracy(),
              Finetuning.FINAL_KEY, true);
        })
        .run(conf, console);
    if (last[0] == null) {
      last[0] = score(model, train, labels.size(), t.evalBatches(), t.batchSize(), tok.eotId());
      last[1] = score(model, val, labels.size(), t.evalBatches(), t.batchSize(), tok.eotId());
    }
    writeConfusion(config.outDir(), labels, testScore[0].confusion(), conf);
    if (config.lora().r() > 0) {
      console.printf("finetune classify: adapters merged -> %s%n", LoraMerge.writeMerged(config.outDir(), step.merged(),
          done.steps(), state, conf));
    }
    console.printf("finetune classify: test accuracy %.1f%% (%d examples; majority baseline %.1f%%) -> %s%n",
        100 * testScore[0].accuracy(), testScore[0].n(), 100 * majority(test, labels.size()), config.outDir());
    return new Result(done.epochs(), last[0], last[1], testScore[0], done.steps());
  }

  /** Parameters left unchanged: all but the head (head), all but the last block, final norm and head (the book). */
  static Set<String> frozen(ModelConfig mc, Trainable trainable) {
    Set<String> frozen = new TreeSet<>();
    if (trainable == Trainable.ALL) {
      return frozen;
    }
    String lastBlock = ParamNames.block(mc.numLayers() - 1, "");
    for (String name : ParamNames.shapes(mc).keySet()) {
      boolean train = name.equals(ParamNames.OUT_HEAD) || (trainable == Trainable.LAST_BLOCK_AND_HEAD
          && (name.startsWith(lastBlock) || name.equals(ParamNames.FINAL_NORM_SCALE)
          || name.equals(ParamNames.FINAL_NORM_SHIFT)));
      if (!train) {
        frozen.add(name);
      }
    }
    return frozen;
  }

  static Encoded encode(List<LabelledExamples.Example> examples, Tokenizer tok, int maxLength, int[] truncated) {
    int[][] ids = new int[examples.size()][];
    int[] labels = new int[examples.size()];
    for (int i = 0; i < ids.length; i++) {
      int[] all = tok.encode(examples.get(i).text());
      if (all.length > maxLength) {
        truncated[0]++;
      }
      ids[i] = Arrays.copyOf(all, Math.min(all.length, maxLength));
      labels[i] = examples.get(i).label();
    }
    return new Encoded(ids, labels);
  }

  /** Class probabilities of one text (truncated to {@code maxLength}) at its last token, eval mode. */
  public static double[] probabilities(GptModel model, int[] ids, int maxLength) {
    int[] input = Arrays.copyOf(ids, Math.min(ids.length, Math.min(maxLength, model.config().contextLength())));
    INDArray logits = model.logits(new int[][] {input});
    INDArray last = logits.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.point(input.length - 1), org.nd4j.linalg.indexing.NDArrayIndex.all())
        .castTo(DataType.DOUBLE);
    INDArray e = org.nd4j.linalg.ops.transforms.Transforms.exp(last.sub(last.maxNumber()));
    return e.div(e.sumNumber()).toDoubleVector();
  }

  /** Rows padded with {@code pad} to the batch's longest; the target is the label at the last real token only. */
  static TokenBatch batch(Encoded split, List<Integer> rows, int pad) {
    int width = 0;
    for (int r : rows) {
      width = Math.max(width, split.ids()[r].length);
    }
    int[][] inputs = new int[rows.size()][width];
    int[][] targets = new int[rows.size()][width];
    for (int i = 0; i < rows.size(); i++) {
      int[] ids = split.ids()[rows.get(i)];
      Arrays.fill(inputs[i], pad);
      System.arraycopy(ids, 0, inputs[i], 0, ids.length);
      Arrays.fill(targets[i], TokenBatch.IGNORE_INDEX);
      targets[i][ids.length - 1] = split.labels()[rows.get(i)];
    }
    return new TokenBatch(inputs, targets);
  }

  /** Mean loss, accuracy and confusion of a split (the first {@code maxBatches} batches; 0 = all), eval mode. */
  static Score score(GptModel model, Encoded split, int classes, int maxBatches, int batchSize, int pad) {
    long[][] confusion = new long[classes][classes];
    double lossSum = 0;
    int n = 0;
    for (int from = 0, b = 0; from < split.size() && (maxBatches == 0 || b < maxBatches); from += batchSize, b++) {
      List<Integer> rows = new ArrayList<>();
      for (int r = from; r < Math.min(split.size(), from + batchSize); r++) {
        rows.add(r);
      }
      TokenBatch batch = batch(split, rows, pad);
      INDArray logits = model.logits(batch.inputs());                                     // [B, T, classes]
      for (int i = 0; i < rows.size(); i++) {
        int last = split.ids()[rows.get(i)].length - 1;
        INDArray row = logits.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i),
            org.nd4j.linalg.indexing.NDArrayIndex.point(last), org.nd4j.linalg.indexing.NDArrayIndex.all())
            .castTo(DataType.DOUBLE);
        double max = row.maxNumber().doubleValue();
        double logSum = max + Math.log(org.nd4j.linalg.ops.transforms.Transforms.exp(row.sub(max)).sumNumber().doubleValue());
        int truth = split.labels()[rows.get(i)];
        lossSum += logSum - row.getDouble(truth);
        confusion[truth][row.argMax().getInt(0)]++;
        n++;
      }
    }
    long right = 0;
    for (int c = 0; c < classes; c++) {
      right += confusion[c][c];
    }
    return new Score(n == 0 ? Double.NaN : lossSum / n, n == 0 ? Double.NaN : right / (double) n, confusion, n);
  }

  private static double majority(Encoded split, int classes) {
    int[] counts = new int[classes];
    for (int y : split.labels()) {
      counts[y]++;
    }
    return Arrays.stream(counts).max().orElse(0) / (double) Math.max(1, split.size());
  }

  private static void writeConfusion(String outDir, List<String> labels, long[][] matrix, Configuration conf) {
    Path file = new Path(outDir, "confusion.json");
    try {
      FileSystem fs = file.getFileSystem(conf);
      try (OutputStream out = fs.create(file, true)) {
        out.write(JsonFiles.toJson(Map.of("labels", labels, "matrix", matrix)).getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new dev.sparkgpt.io.OutputException(file + ": cannot write: " + e.getMessage()
          + ". Fix: check free space and permissions of out_dir", e);
    }
  }
}
