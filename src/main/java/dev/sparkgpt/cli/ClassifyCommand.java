package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.finetune.Classifier;
import dev.sparkgpt.finetune.ClassifyFinetune;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.concurrent.Callable;
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
    Classifier.Loaded c = Classifier.load(checkpoint);
    Tokenizer tok = Classifier.tokenizer(c, HadoopConf.create());
    int[] ids = tok.encode(text);
    if (ids.length == 0) {
      throw new ConfigException("--text", "the text is empty", "give some text to label");
    }
    double[] p = ClassifyFinetune.probabilities(c.model(), ids, c.maxLength());
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      best = p[i] > p[best] ? i : best;
    }
    System.out.printf("%s %.4f%n", c.labels().get(best), p[best]);
    return 0;
  }
}
