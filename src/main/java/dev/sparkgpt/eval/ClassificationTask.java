package dev.sparkgpt.eval;

import dev.sparkgpt.finetune.Classifier;
import dev.sparkgpt.finetune.LabelledExamples;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Classification accuracy of a classify finetune on a labelled file: every example's label predicted at its last
 * token (as the finetune trains and scores), on Spark executors (each partition loads the checkpoint once) or on
 * the driver; accuracy with the harness's standard error, mean loss and the confusion matrix.
 */
public final class ClassificationTask {
  private ClassificationTask() {}

  /**
   * Scores the first {@code limit} examples (-1 = all) of {@code file} with {@code checkpoint}; {@code jsc} null =
   * on this thread, else in {@code partitions} Spark tasks (0 = default parallelism).
   */
  public static TaskResult evaluate(JavaSparkContext jsc, String checkpoint, String file, int limit, int batchSize,
      int partitions, Configuration conf) {
    long start = System.nanoTime();
    Classifier.Loaded classifier = Classifier.load(checkpoint);
    List<LabelledExamples.Example> examples = Classifier.read(file, classifier.labels(), conf);
    if (limit > 0 && examples.size() > limit) {
      examples = examples.subList(0, limit);
    }
    if (examples.isEmpty()) {
      throw new EvalException(file + ": no labelled examples in it");
    }
    Classifier.Counts counts;
    if (jsc == null) {
      counts = Classifier.score(classifier, examples, Classifier.tokenizer(classifier, conf), batchSize);
    } else {
      int classes = classifier.labels().size();
      int parts = Math.min(examples.size(), partitions > 0 ? partitions : jsc.defaultParallelism());
      counts = jsc.parallelize(examples, parts).mapPartitions(
          (Iterator<LabelledExamples.Example> it) -> List.of(scorePartition(checkpoint, it, batchSize, classes))
              .iterator())
          .reduce(Classifier.Counts::plus);
    }
    double acc = counts.accuracy();
    return new TaskResult(counts.n(), acc, null, TaskResult.meanStderr(Math.round(acc * counts.n()), counts.n()),
        null, null, (System.nanoTime() - start) / 1e9, 0, counts.n(), "classification", file,
        counts.lossSum() / counts.n(), classifier.labels(), counts.confusion());
  }

  private static Classifier.Counts scorePartition(String checkpoint, Iterator<LabelledExamples.Example> it,
      int batchSize, int classes) {
    List<LabelledExamples.Example> part = new java.util.ArrayList<>();
    it.forEachRemaining(part::add);
    if (part.isEmpty()) {
      return new Classifier.Counts(0, 0, new long[classes][classes], 0);
    }
    Classifier.Loaded c = Classifier.load(checkpoint);
    Tokenizer tok = Classifier.tokenizer(c, HadoopConf.create());
    return Classifier.score(c, part, tok, batchSize);
  }
}
