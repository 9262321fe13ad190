package dev.sparkgpt.finetune;

import dev.sparkgpt.config.EpochTraining;

import dev.sparkgpt.checkpoint.CheckpointState;
import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.checkpoint.RunWriter;
import dev.sparkgpt.io.Progress;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.Checkpointing;
import dev.sparkgpt.train.EarlyStop;
import dev.sparkgpt.train.GptStepModel;
import dev.sparkgpt.train.MetricsLog;
import dev.sparkgpt.train.TrainingLoop;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.apache.hadoop.conf.Configuration;

/**
 * Classify and instruct finetuning on {@link TrainingLoop}, the loop pretraining runs on: an {@link EpochEngine}
 * (seeded epochs of examples, locally or by parameter averaging) and the listeners in order — a metrics line every
 * log_interval steps, at each epoch's end its line (validation loss, accuracies …, docs/metrics-format.md), early
 * stop (train.patience epochs without a better val loss), a checkpoint; at the end an optional final line. A re-run
 * continues after the last finished epoch with the weights, optimizer, RNG and the metrics up to it, so it ends
 * exactly where a straight run ends.
 */
public final class Finetuning {
  /**
   * Settings shared by every finetune; {@code workers} and {@code frequency} matter under parameter averaging (see
   * {@link EpochEngine}); {@code patience} 0 = train every epoch.
   */
  public record Settings(String outDir, int epochs, int batchSize, double lr, double maxNorm, int logInterval,
      long seed, String name, int workers, int frequency, int patience, boolean tensorboard) {

    /** A finetune's settings from its config's train section, learning rate and seed; {@code name} heads its lines. */
    public static Settings of(String outDir, EpochTraining train, double lr, long seed, String name) {
      return new Settings(outDir, train.epochs(), train.batchSize(), lr, train.maxNorm(), train.logInterval(), seed,
          name, train.workers(), train.averagingFrequency(), train.patience(), train.tensorboard());
    }
  }

  /** The batch of the given example indices. */
  public interface Examples {
    TokenBatch batch(List<Integer> rows);
  }

  /** An epoch's end: the keys its metrics line adds (validation loss, accuracies …); prints what it wants. */
  public interface EpochEnd {
    Map<String, Object> finish(int epoch, double trainLoss, double examplesPerSecond);
  }

  /** How a finetune ended: optimizer steps in all, epochs finished, and why it stopped ("epochs", "early_stop"). */
  public record Outcome(long steps, int epochs, String stopReason) {}

  /** Marks the final metrics line of a finished run (e.g. test_acc), which a continued run writes anew. */
  public static final String FINAL_KEY = "final";

  /** The stop reason of a run that trained every configured epoch. */
  public static final String EPOCHS = "epochs";

  private Finetuning() {}

  /**
   * A finetune to run: its settings and step model, then its examples ({@link Job#examples}), optionally Spark
   * rounds ({@link Job#rounds}), what an epoch's end reports, what goes into state.json and a final line.
   */
  public static Job job(Settings settings, GptStepModel step) {
    return new Job(settings, step);
  }

  /** A finetune being described; {@link #run} trains the epochs not yet done. */
  public static final class Job {
    final Settings settings;
    final GptStepModel step;
    AveragingRounds rounds;
    int examples = -1;
    Examples batches;
    private EpochEnd end = (epoch, trainLoss, rate) -> Map.of();
    private Map<String, Object> state = Map.of();
    private IntFunction<Map<String, Object>> finalLine;

    private Job(Settings settings, GptStepModel step) {
      this.settings = settings;
      this.step = step;
    }

    /** The training examples: how many, and the batch of given example indices. */
    public Job examples(int count, Examples batchesOf) {
      this.examples = count;
      this.batches = batchesOf;
      return this;
    }

    /** Run the steps on Spark workers and average their states into the step model (null, the default: local). */
    public Job rounds(AveragingRounds averagingRounds) {
      this.rounds = averagingRounds;
      return this;
    }

    /** What each epoch's end adds to its metrics line (validation loss, accuracies …). */
    public Job onEpochEnd(EpochEnd epochEnd) {
      this.end = epochEnd;
      return this;
    }

    /** What goes into every checkpoint's state.json (model description, labels, tokenizer …). */
    public Job state(Map<String, Object> checkpointState) {
      this.state = checkpointState;
      return this;
    }

    /** A final metrics line from the number of epochs finished (e.g. the test accuracy); none by default. */
    public Job finalLine(IntFunction<Map<String, Object>> line) {
      this.finalLine = line;
      return this;
    }

    /** Trains the epochs not yet done under the settings' out_dir, continuing a run found there. */
    public Outcome run(Configuration conf, PrintStream console) {
      if (batches == null) {
        throw new IllegalStateException("Finetuning.job(...).examples(count, batches) was not given");
      }
      return Finetuning.run(this, conf, console);
    }
  }

  private static Outcome run(Job job, Configuration conf, PrintStream console) {
    Settings s = job.settings;
    Map<String, Object> state = job.state;
    EpochEnd end = job.end;
    IntFunction<Map<String, Object>> lastLine = job.finalLine;
    int examples = job.examples;
    try (RunWriter store = RunWriter.open(s.outDir(), 2, conf, console)) {
      EpochEngine engine = new EpochEngine(job);
      EarlyStop earlyStop = new EarlyStop("val_loss", s.patience(), console);
      TrainingLoop.State start = new TrainingLoop.State(0, 0);
      Optional<CheckpointState> resumed = store.resume("auto");
      if (resumed.isPresent()) {
        CheckpointState ck = resumed.get();
        if (state.get("tokenizer") instanceof Map<?, ?> tok) {
          Fingerprints.checkTokenizer(ck.dir().toString(), ck.tokenizerHash(), String.valueOf(tok.get("hash")),
              String.valueOf(tok.get("name")), false, "a new out_dir");
        }
        engine.restore(ck);
        earlyStop.restore(ck.state().path("early_stop"), Double.POSITIVE_INFINITY);
        start = new TrainingLoop.State(ck.step(), 0);
        console.printf("%s: resumed after epoch %d (step %d)%n", s.name(), engine.epoch(), start.step());
      }
      long keptSteps = start.step();
      long keptEpochs = engine.epoch();
      AtomicReference<String> status = new AtomicReference<>("");
      // the past of a resumed run: its step lines and finished epochs, not the final (test) line of an earlier end
      try (MetricsLog metrics = MetricsLog.open(s.outDir(), line -> line.has("step")
          ? line.get("step").asLong() <= keptSteps
          : line.path("epoch").asLong(Long.MAX_VALUE) <= keptEpochs && !line.has(FINAL_KEY), conf)
              .withTensorBoard(s.tensorboard(), resumed.isPresent() ? keptSteps + 1 : 0);
          Progress bar = Progress.start(new Progress.Spec(s.name(), () -> (long) s.epochs() * examples, "examples",
              1, engine::examplesDone, status::get, true))) {
        TrainingLoop.Listener lines = new TrainingLoop.Listener() {
          @Override
          public void afterAdvance(TrainingLoop.State st) {
            status.set(String.format(" epoch %d/%d, loss %.3f", Math.min(engine.epoch() + 1, s.epochs()),
                s.epochs(), st.last().loss()));
            if (st.crossed(s.logInterval())) {
              metrics.write(stepLine(st, s.lr(), engine.examplesPerSecond()));
            }
            if (engine.epochEnded()) {
              int epoch = (int) engine.epoch();
              Map<String, Object> line = new LinkedHashMap<>();
              line.put("epoch", epoch);
              line.put("train_loss", engine.epochLoss());
              Map<String, Object> scores = end.finish(epoch, engine.epochLoss(), engine.epochRate());
              line.putAll(scores);
              line.put("examples_per_sec", engine.epochRate());
              metrics.write(line, st.step(), "epoch/");
              if (scores.get("val_loss") instanceof Number v) {
                st.evaluated("val_loss", v.doubleValue());
              }
            }
          }

          @Override
          public void end(TrainingLoop.State st) {
            if (lastLine != null) {
              metrics.write(lastLine.apply((int) engine.epoch()), st.step(), "final/");
            }
          }
        };
        Checkpointing save = new Checkpointing(store, engine, st -> engine.epochEnded(), st -> {
          Map<String, Object> saved = new LinkedHashMap<>(state);
          saved.putAll(engine.checkpointState());
          saved.put("early_stop", earlyStop.state());
          return saved;
        });
        TrainingLoop.StopRule rule = st -> engine.epoch() >= s.epochs() ? EPOCHS
            : earlyStop.exhausted() ? EarlyStop.REASON : null;
        TrainingLoop.State done = new TrainingLoop(engine, x -> s.lr(), s.maxNorm(), rule,
            List.of(lines, earlyStop, save), store::lastGood).run(start);
        return new Outcome(done.step(), (int) engine.epoch(), done.stopReason());
      }
    }
  }

  /** A step line of metrics.jsonl (docs/metrics-format.md). */
  private static Map<String, Object> stepLine(TrainingLoop.State st, double lr, double examplesPerSecond) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("step", st.step());
    line.put("train_loss", st.last().loss());
    line.put("lr", lr);
    line.put("grad_norm", st.last().gradNorm());
    line.put("examples_per_sec", examplesPerSecond);
    line.put("elapsed_s", st.elapsed());
    line.putAll(st.last().metrics());
    return line;
  }
}
