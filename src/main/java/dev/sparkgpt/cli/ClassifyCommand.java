package dev.sparkgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.ModelLoader;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt classify}: the label a classify finetune gives a text, with its probability. */
@Command(name = "classify", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Label a text with a classify-finetuned checkpoint; prints the label and its probability.")
public final class ClassifyCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "Finetune run or step directory.")
  String checkpoint;

  @Option(names = "--text", required = true, description = "The text to label.")
  String text;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    ModelLoader.Loaded loaded = ModelLoader.load(checkpoint);
    JsonNode state = JsonFiles.read(new Path(loaded.source(), CheckpointStore.STATE), JsonNode.class,
        HadoopConf.create());
    JsonNode labels = state.path("labels");
    if (!labels.isArray() || loaded.model().config().numClasses() != labels.size()) {
      throw new ConfigException("--checkpoint", checkpoint + " is not a classify finetune (no labels in its "
          + "state.json)", "point it at the out_dir of 'sparkgpt finetune classify'");
    }
    Tokenizer tok = TokenizerSpec.resolve(state.path("tokenizer").path("name").asText("gpt2"), HadoopConf.create())
        .get();
    int[] ids = tok.encode(text);
    if (ids.length == 0) {
      throw new ConfigException("--text", "the text is empty", "give some text to label");
    }
    double[] p = ClassifyFinetune.probabilities(loaded.model(), ids, state.path("max_length").asInt(ids.length));
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      best = p[i] > p[best] ? i : best;
    }
    System.out.printf("%s %.4f%n", labels.get(best).asText(), p[best]);
    return 0;
  }
}
