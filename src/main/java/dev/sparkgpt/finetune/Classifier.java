package dev.sparkgpt.finetune;

import dev.sparkgpt.checkpoint.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkGptException;
import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A classify finetune as users apply it after training ({@code classify}, the eval job's classification tasks): the
 * model with its labels, max length and tokenizer as recorded in the checkpoint's state.json.
 */
public final class Classifier {
  /** A loaded classifier. */
  public record Loaded(GptModel model, List<String> labels, int maxLength, String tokenizer) {}

  /** Counts of a scored set: summed loss, confusion (rows: true label, columns: predicted), examples truncated. */
  public record Counts(int n, double lossSum, long[][] confusion, int truncated) implements Serializable {
    public double accuracy() {
      long right = 0;
      for (int c = 0; c < confusion.length; c++) {
        right += confusion[c][c];
      }
      return n == 0 ? Double.NaN : right / (double) n;
    }

    /** Both sets' counts together. */
    public Counts plus(Counts o) {
      long[][] sum = new long[confusion.length][];
      for (int i = 0; i < sum.length; i++) {
        sum[i] = confusion[i].clone();
        for (int j = 0; j < sum[i].length; j++) {
          sum[i][j] += o.confusion[i][j];
        }
      }
      return new Counts(n + o.n, lossSum + o.lossSum, sum, truncated + o.truncated);
    }
  }

  private Classifier() {}

  /** Loads a classify finetune's run or step directory; anything else is refused by name. */
  public static Loaded load(String checkpoint) {
    Checkpoint ck = Checkpoint.open(checkpoint);
    JsonNode state = ck.state().orElse(null);   // a Hugging Face directory has none: not a classify finetune
    JsonNode labels = state == null ? null : state.path("labels");
    if (labels == null || !labels.isArray() || labels.isEmpty()) {
      throw new ConfigException("checkpoint", checkpoint + " is not a classify finetune (no labels in its "
          + "state.json)", "point it at the out_dir of 'sparkgpt finetune classify'");
    }
    GptModel model = ck.model();
    if (model.config().numClasses() != labels.size()) {
      throw new ConfigException("checkpoint", checkpoint + " is not a classify finetune (no labels in its "
          + "state.json)", "point it at the out_dir of 'sparkgpt finetune classify'");
    }
    List<String> names = new ArrayList<>();
    labels.forEach(l -> names.add(l.asText()));
    return new Loaded(model, names, state.path("max_length").asInt(model.config().contextLength()),
        state.path("tokenizer").path("name").asText("gpt2"));
  }

  /** The checkpoint's tokenizer. */
  public static Tokenizer tokenizer(Loaded c, Configuration conf) {
    return TokenizerSpec.resolve(c.tokenizer(), conf).get();
  }

  /**
   * Labelled examples of {@code file} with the classifier's labels: {@code label<TAB>text} lines, or .csv/.jsonl
   * with "text" and "label" columns/fields (by the file's extension).
   */
  public static List<LabelledExamples.Example> read(String file, List<String> labels, Configuration conf) {
    String format = file.endsWith(".jsonl") ? "jsonl" : file.endsWith(".csv") ? "csv" : "tsv";
    return LabelledExamples.read(new ClassifyConfig.Data(file, format, "text", "label", labels, false, 0.7, 0.1, 0,
        "gpt2"), conf);
  }

  /** Loss and confusion of {@code examples} (truncated to {@code maxLength} tokens), eval mode. */
  public static Counts score(Loaded c, List<LabelledExamples.Example> examples, Tokenizer tok, int batchSize) {
    int[] truncated = {0};
    ClassifyFinetune.Encoded encoded = ClassifyFinetune.encode(examples, tok, Math.min(c.maxLength(),
        c.model().config().contextLength()), truncated);
    ClassifyFinetune.Score s = ClassifyFinetune.score(c.model(), encoded, c.labels().size(), 0, batchSize,
        tok.eotId());
    return new Counts(s.n(), s.n() == 0 ? 0 : s.loss() * s.n(), s.confusion(), truncated[0]);
  }
}
