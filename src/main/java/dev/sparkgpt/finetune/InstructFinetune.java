package dev.sparkgpt.finetune;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputException;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.GptStepModel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The book's chapter 7 as a job: a GPT trained as a language model on prompt + response in the configured template
 * (Alpaca by default; recorded in the checkpoints for chat and serve), the padding after each response's end-of-text
 * ignored (and optionally the prompt), then greedy responses for the test split written to {@code responses.jsonl}
 * ({instruction, input, output, model_response}: what {@code judge} scores). Epochs, metrics, checkpoints and resume are {@link Finetuning}'s.
 */
public final class InstructFinetune {
  public static final String RESPONSES = "responses.jsonl";

  /** How the run ended: steps, the last validation loss, responses written. */
  public record Result(long steps, double valLoss, int responses) {}

  private InstructFinetune() {}

  public static Result run(InstructConfig config, PrintStream console) {
    return run(null, config, console);
  }

  /** Finetunes as configured; {@code spark} may be null for the local strategy. */
  public static Result run(SparkSession spark, InstructConfig config, PrintStream console) {
    config.validate();
    Configuration conf = spark == null ? HadoopConf.create() : spark.sparkContext().hadoopConfiguration();
    Tokenizer tok = TokenizerSpec.resolve(config.data().tokenizer(), conf).get();
    GptModel model = BaseModels.load(config.baseCheckpoint(), config.modelName(), config.model(), tok, config.seed(),
        0);
    int context = model.config().contextLength();
    int maxLength = config.data().maxLength() > 0 ? Math.min(config.data().maxLength(), context) : context;
    InstructionExamples.Splits splits = InstructionExamples.split(
        InstructionExamples.read(config.data().path(), conf), config.data(), config.seed());
    InstructionTemplate template = template(config.data());
    int[] truncated = {0};
    List<InstructionExamples.Encoded> train = encode(splits.train(), template, tok, maxLength, truncated);
    List<InstructionExamples.Encoded> val = encode(splits.val(), template, tok, maxLength, truncated);
    console.printf("finetune instruct: %d train / %d val / %d test entries, max length %d tokens%s, loss on %s%n",
        train.size(), val.size(), splits.test().size(), maxLength,
        truncated[0] > 0 ? " (" + truncated[0] + " longer entries truncated)" : "",
        config.data().maskPrompt() ? "the responses only" : "prompt and response");

    GptStepModel step = BaseModels.trainable(model, config.optimizer(), config.lora(), java.util.Set.of(),
        config.seed(), "finetune instruct", console);
    InstructConfig.Train t = config.train();
    AveragingRounds rounds = FinetuneWorkers.rounds(spark, t.strategy(), t.workers(), model, step,
        config.optimizer(), config.lora(), java.util.Set.of(), config.seed());
    boolean mask = config.data().maskPrompt();
    int pad = tok.eotId();
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("kind", "instruct");
    state.put("template", config.data().template());
    state.put("template_strings", template.strings());
    state.put("model", ModelConfigs.describe(model.config()));
    state.put("tokenizer", Map.of("name", tok.name(), "hash", tok.hash()));
    state.put("base_checkpoint", config.baseCheckpoint());
    state.put("config_yaml", ConfigLoader.toYaml(config));
    if (config.lora().r() > 0) {
      state.put("lora", Map.of("r", config.lora().r(), "alpha", config.lora().alpha(), "targets",
          config.lora().targets()));
    }
    double[] lastVal = {Double.NaN};
    Finetuning.EpochEnd end = (epoch, trainLoss, rate) -> {
      lastVal[0] = loss(model, val, t.batchSize(), pad, mask);
      console.printf("epoch %d/%d | train loss %.4f | val loss %.4f | %.1f examples/s%n", epoch, t.epochs(),
          trainLoss, lastVal[0], rate);
      return Map.of("val_loss", lastVal[0]);
    };
    long steps = Finetuning.job(Finetuning.Settings.of(config.outDir(), t, config.optimizer().lr(),
        config.seed(), "finetune instruct"), step)
        .examples(train.size(), rows -> InstructionExamples.collate(pick(train, rows), pad, mask))
        .rounds(rounds)
        .onEpochEnd(end)
        .state(state)
        .run(conf, console).steps();
    if (Double.isNaN(lastVal[0])) {
      lastVal[0] = loss(model, val, t.batchSize(), pad, mask);
    }
    if (config.lora().r() > 0) {
      console.printf("finetune instruct: adapters merged -> %s%n", LoraMerge.writeMerged(config.outDir(), step.merged(),
          steps, state, conf));
    }
    List<InstructionExamples.Entry> test = splits.test();
    int n = config.generate().limit() > 0 ? Math.min(config.generate().limit(), test.size()) : test.size();
    writeResponses(config.outDir(), respond(step, tok, template, test.subList(0, n), config.generate().maxNewTokens()),
        conf);
    console.printf("finetune instruct: val loss %.4f; %d test responses -> %s%n", lastVal[0], n,
        new Path(config.outDir(), RESPONSES));
    return new Result(steps, lastVal[0], n);
  }

  /** The configured prompt format: a named one, or data.custom_template's strings. */
  public static InstructionTemplate template(InstructConfig.Data data) {
    InstructConfig.Template c = data.customTemplate();
    return "custom".equals(data.template()) ? new InstructionTemplate(c.preamble(), c.instruction(), c.input(),
        c.response(), c.separator(), c.stop()) : InstructionTemplate.named(data.template());
  }

  private static List<InstructionExamples.Encoded> encode(List<InstructionExamples.Entry> entries,
      InstructionTemplate template, Tokenizer tok, int maxLength, int[] truncated) {
    List<InstructionExamples.Encoded> out = new ArrayList<>();
    entries.forEach(e -> out.add(InstructionExamples.encode(e, template, tok, maxLength, truncated)));
    return out;
  }

  private static <T> List<T> pick(List<T> all, List<Integer> rows) {
    List<T> out = new ArrayList<>(rows.size());
    rows.forEach(r -> out.add(all.get(r)));
    return out;
  }

  /** Mean loss over every counted target of a split, eval mode. */
  static double loss(GptModel model, List<InstructionExamples.Encoded> split, int batchSize, int pad, boolean mask) {
    double sum = 0;
    double count = 0;
    for (int from = 0; from < split.size(); from += batchSize) {
      TokenBatch b = InstructionExamples.collate(split.subList(from, Math.min(split.size(), from + batchSize)), pad,
          mask);
      double weight = b.weightSum();
      if (weight > 0) {
        sum += model.loss(b) * weight;
        count += weight;
      }
    }
    return count == 0 ? Double.NaN : sum / count;
  }

  /** Greedy responses (stopping at end-of-text or the template's stop, e.g. a new "###" section) as judge input lines. */
  public static List<Map<String, Object>> respond(GptStepModel model, Tokenizer tok, InstructionTemplate template,
      List<InstructionExamples.Entry> entries, int maxNewTokens) {
    Generator generator = new Generator(model.scorer(), tok);
    Sampler greedy = new Sampler(0, 0, 1, 0);
    List<Map<String, Object>> lines = new ArrayList<>();
    for (InstructionExamples.Entry e : entries) {
      int[] prompt = tok.encode(template.format(e.instruction(), e.input()));
      Generator.Result r = generator.generate(prompt, maxNewTokens, greedy, template.stops(), null);
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("instruction", e.instruction());
      line.put("input", e.input());
      line.put("output", e.output());
      line.put("model_response", template.extractResponse(r.text()));
      lines.add(line);
    }
    return lines;
  }

  private static void writeResponses(String outDir, List<Map<String, Object>> lines, Configuration conf) {
    Path target = new Path(outDir, RESPONSES);
    Path temp = new Path(outDir, "." + RESPONSES + "." + UUID.randomUUID() + ".tmp");
    try {
      FileSystem fs = target.getFileSystem(conf);
      try (OutputStream out = fs.create(temp, true)) {
        for (Map<String, Object> line : lines) {
          out.write(JsonFiles.line(line).getBytes(StandardCharsets.UTF_8));
        }
      }
      fs.delete(target, false);
      if (!fs.rename(temp, target)) {
        throw new IOException("rename " + temp + " -> " + target + " failed");
      }
    } catch (IOException e) {
      throw new OutputException(target + ": cannot write: " + e.getMessage() + ". Fix: check free space and "
          + "permissions of out_dir", e);
    }
  }
}
