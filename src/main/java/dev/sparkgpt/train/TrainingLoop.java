package dev.sparkgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.checkpoint.CheckpointState;
import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.checkpoint.RunWriter;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.Progress;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The pretraining loop, independent of where a step is computed: batches in a seeded order with a saved cursor,
 * warmup + cosine learning rate, metrics.jsonl and console lines, validation loss and a greedy sample at each
 * evaluation, checkpoints (exact resume: weights, optimizer, data cursor, RNG, step), and a clear stop on NaN.
 */
public final class TrainingLoop {
  private final PretrainConfig config;
  private final TrainingEngine engine;
  private final StepModel model;
  private final TrainingWindows val;
  private final Tokenizer tokenizer;
  private final Map<String, Object> modelDescription;
  private final Configuration conf;
  private final PrintStream console;

  /** How a run ended. */
  public record Result(long step, long tokensSeen, double trainLoss, Double valLoss, String stopReason) {}

  public TrainingLoop(PretrainConfig config, TrainingEngine engine, TrainingWindows val, Tokenizer tokenizer,
      Map<String, Object> modelDescription, Configuration conf, PrintStream console) {
    this.config = config;
    this.engine = engine;
    this.model = engine == null ? null : engine.model();
    this.val = val;
    this.tokenizer = tokenizer;
    this.modelDescription = modelDescription;
    this.conf = conf;
    this.console = console;
  }

  public Result run() {
    PretrainConfig.Train t = config.train();
    try (RunWriter store = RunWriter.open(config.outDir(), t.keepLast(), conf, console)) {
      return run(store);
    }
  }

  private Result run(RunWriter store) {
    PretrainConfig.Train t = config.train();
    String manifestHash = manifestHash();
    long step = 0;
    long tokensSeen = 0;
    double bestVal = Double.POSITIVE_INFINITY;
    Optional<CheckpointState> resumed = store.resume(config.resume());
    if (resumed.isPresent()) {
      CheckpointState ck = resumed.get();
      checkSameArchitecture(ck);
      Fingerprints.checkTokenizer(ck.dir().toString(), ck.tokenizerHash(), tokenizer, false,
          "a new out_dir (resume: never)");
      if (manifestHash != null) {
        Fingerprints.checkManifest(ck.dir().toString(), ck.manifestHash(), manifestHash, config.data().shards(),
            t.allowDataChange());
      }
      JsonNode s = ck.state();
      engine.restore(ck);
      if (engine.cursorWarning() != null) {
        console.println("pretrain: warning: " + engine.cursorWarning());
      }
      step = ck.step();
      tokensSeen = s.path("tokens_seen").asLong();
      bestVal = s.path("best_val_loss").asDouble(Double.POSITIVE_INFINITY);
      console.printf("pretrain: resumed from %s (step %d, %,d tokens seen)%n", ck.dir(), step, tokensSeen);
      String done = stopReason(step, tokensSeen, 0);
      if (done != null) {
        // a re-run of a finished run (a pipeline retry, a resubmitted job): no step beyond the limit
        console.printf("pretrain: already at %s (step %d); nothing to train -> %s%n", done, step, config.outDir());
        return new Result(step, tokensSeen, Double.NaN, null, done);
      }
    } else if (config.initFrom() != null && val.size() > 0) {
      console.printf("pretrain: weights of %s: val loss %.6f at step 0%n", config.initFrom(), validationLoss());
    }
    long tokensPerStep = (long) t.globalBatchSize() * val.context();
    long totalSteps = totalSteps(tokensPerStep);
    console.printf("pretrain: %,.2fM parameters | %,d training windows of %d tokens per epoch | %,d tokens per step"
            + " (%d × %d, accumulation %d) | %s steps | %,d val windows%n", model.parameterCount() / 1e6,
        engine.windowsPerEpoch(), val.context(), tokensPerStep, t.globalBatchSize(), val.context(),
        t.accumulationSteps(), totalSteps > 0 ? String.format("%,d", totalSteps) : "time-limited", val.size());
    double peak = PeakFlops.get();

    long startNanos = System.nanoTime();
    long intervalStart = startNanos;
    long intervalTokens = 0;
    double lastLoss = Double.NaN;
    Double lastVal = null;
    String stop = null;
    long tokensAtStart = tokensSeen;
    AtomicLong stepNow = new AtomicLong(step);
    AtomicReference<String> status = new AtomicReference<>("");
    try (MetricsLog metrics = MetricsLog.open(config.outDir(), resumed.isPresent() ? step : -1, conf);
        Progress bar = Progress.start(new Progress.Spec("pretrain", () -> totalSteps, "steps", 1, stepNow::get,
            status::get, true))) {
      while (stop == null) {
        long before = step;
        long total = totalSteps;
        TrainingEngine.Advance r;
        try {
          r = engine.advance(step, s -> learningRate(s, total), t.maxNorm());
        } catch (TrainingDivergedException e) {
          throw new TrainingDivergedException(e.getMessage() + " (" + lastGood(store) + ")");
        }
        if (!Double.isFinite(r.loss()) || !Double.isFinite(r.gradNorm())) {
          throw diverged(store, step + r.steps(), r);
        }
        step += r.steps();
        tokensSeen += r.tokens();
        intervalTokens += r.tokens();
        lastLoss = r.loss();
        double lr = learningRate(step - 1, totalSteps);
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        stepNow.set(step);
        status.set(String.format(" loss %.3f, %s tok/s", r.loss(), rate((tokensSeen - tokensAtStart) / elapsed)));
        stop = stopReason(step, tokensSeen, elapsed);
        boolean evalNow = stop != null || crossed(before, step, config.eval().interval());
        boolean logNow = evalNow || crossed(before, step, t.logInterval());
        if (logNow) {
          double seconds = (System.nanoTime() - intervalStart) / 1e9;
          double tokPerSec = intervalTokens / Math.max(seconds, 1e-9);
          Map<String, Object> line = new LinkedHashMap<>();
          line.put("step", step);
          line.put("tokens_seen", tokensSeen);
          line.put("epoch", engine.epoch());
          line.put("train_loss", r.loss());
          line.put("lr", lr);
          line.put("grad_norm", r.gradNorm());
          line.put("tokens_per_sec", tokPerSec);
          line.put("mfu", tokPerSec * model.flopsPerToken() / (peak * engine.parallelWorkers()));
          line.put("elapsed_s", elapsed);
          line.putAll(r.metrics());
          if (evalNow && val.size() > 0) {
            lastVal = validationLoss();
            bestVal = Math.min(bestVal, lastVal);
            line.put("val_loss", lastVal);
          }
          metrics.write(line);
          console.println(progressLine(step, totalSteps, r, lastVal, evalNow, lr, tokPerSec, line, elapsed));
          if (evalNow) {
            printSample(step);
          }
          intervalStart = System.nanoTime();
          intervalTokens = 0;
        }
        if (stop != null || crossed(before, step, t.saveInterval())) {
          Map<String, Object> state = new LinkedHashMap<>();
          state.put("tokens_seen", tokensSeen);
          state.put("cursor", engine.cursor());
          state.put("rng", model.rngState());
          state.put("best_val_loss", Double.isFinite(bestVal) ? bestVal : null);
          state.put("model", modelDescription);
          state.put("tokenizer", Fingerprints.tokenizer(tokenizer));
          if (manifestHash != null) {
            state.put("data", Map.of("shards", config.data().shards(), "manifest_hash", manifestHash));
          }
          state.put("config_yaml", ConfigLoader.toYaml(config));
          state.putAll(engine.checkpointState());
          store.save(step, model.weights(), engine.optimizerState(), state, engine::writeCheckpointFiles);
        }
      }
    }
    console.printf("pretrain: stopped (%s) at step %d, %,d tokens seen, train loss %.4f%s -> %s%n", stop, step,
        tokensSeen, lastLoss, lastVal == null ? "" : String.format(", val loss %.4f", lastVal), config.outDir());
    return new Result(step, tokensSeen, lastLoss, lastVal, stop);
  }

  /** The shards' manifest hash (null for a data.text run). */
  private String manifestHash() {
    return config.data().shards() == null ? null
        : Fingerprints.manifestHash(ShardReader.open(config.data().shards(), conf).manifest());
  }

  private void checkSameArchitecture(CheckpointState ck) {
    JsonNode saved = ck.state().path("model");
    JsonNode now = JsonFiles.MAPPER.valueToTree(modelDescription);
    Iterator<String> names = now.fieldNames();
    while (names.hasNext()) {
      String key = names.next();
      if (!saved.path(key).equals(now.path(key)) && !"drop_rate".equals(key)) {
        throw new CheckpointException(ck.dir() + ": checkpoint has model." + key + " = " + saved.path(key)
            + ", the config asks for " + now.path(key) + ". Fix: resume keeps the checkpoint's architecture: drop"
            + " the override, or start afresh with another out_dir (or resume: never)");
      }
    }
  }

  /** Whether a multiple of {@code interval} lies in (before, after]. */
  private static boolean crossed(long before, long after, int interval) {
    return interval > 0 && after / interval > before / interval;
  }

  private long totalSteps(long tokensPerStep) {
    PretrainConfig.Train t = config.train();
    if (t.maxSteps() > 0) {
      return t.maxSteps();
    }
    return t.maxTokens() > 0 ? (t.maxTokens() + tokensPerStep - 1) / tokensPerStep : 0;
  }

  /** Linear warmup to lr, then cosine decay to min_lr at the last step (constant after warmup if unknown). */
  double learningRate(long step, long totalSteps) {
    PretrainConfig.Optimizer o = config.optimizer();
    return new LrSchedule(o.lr(), o.minLr(), config.train().lrWarmupSteps(), totalSteps).at(step);
  }

  private String stopReason(long step, long tokensSeen, double elapsed) {
    PretrainConfig.Train t = config.train();
    if (t.maxSteps() > 0 && step >= t.maxSteps()) {
      return "max_steps";
    }
    if (t.maxTokens() > 0 && tokensSeen >= t.maxTokens()) {
      return "max_tokens";
    }
    if (t.maxSeconds() > 0 && elapsed >= t.maxSeconds()) {
      return "max_seconds";
    }
    return null;
  }

  /** Mean loss over the first eval.max_iters batches of the validation windows (same batches every time). */
  double validationLoss() {
    int batch = config.train().microBatchSize();
    int batches = (int) Math.min(config.eval().maxIters(), (val.size() + batch - 1) / batch);
    double sum = 0;
    for (int b = 0; b < batches; b++) {
      int from = b * batch;
      int[] indices = new int[Math.min(batch, val.size() - from)];
      for (int i = 0; i < indices.length; i++) {
        indices[i] = from + i;
      }
      sum += model.loss(val.inputs(indices), val.targets(indices));
    }
    return sum / batches;
  }

  private void printSample(long step) {
    String prompt = config.eval().prompt();
    if (prompt == null || prompt.isEmpty() || config.eval().maxNewTokens() == 0) {
      return;
    }
    int[] ids = tokenizer.encode(prompt);
    PretrainConfig.Eval e = config.eval();
    Sampler sampler = e.temperature() == 0 ? Sampler.greedy() : new Sampler(e.temperature(), e.topK(), 1,
        config.seed() * 1_000_003L + step);
    int[] out = model.generate(ids, e.maxNewTokens(), tokenizer.eotId(), tokenizer.vocabSize(), sampler);
    console.println("  sample: " + (prompt + tokenizer.decode(out)).replace("\n", " ⏎ "));
  }

  private String progressLine(long step, long totalSteps, TrainingEngine.Advance r, Double val, boolean evalNow,
      double lr, double tokPerSec, Map<String, Object> line, double elapsed) {
    StringBuilder sb = new StringBuilder();
    sb.append(totalSteps > 0 ? String.format("step %d/%d", step, totalSteps) : String.format("step %d", step));
    sb.append(String.format(" | loss %.4f", r.loss()));
    if (evalNow && val != null) {
      sb.append(String.format(" | val %.4f", val));
    }
    sb.append(String.format(" | lr %.2e | norm %.3f | %s tok/s | mfu %.1f%%", lr, r.gradNorm(), rate(tokPerSec),
        100 * (double) line.get("mfu")));
    if (totalSteps > 0) {
      double eta = elapsed / step * (totalSteps - step);
      if (config.train().maxSeconds() > 0) {                   // a time budget ends the run first (the demo's)
        eta = Math.max(0, Math.min(eta, config.train().maxSeconds() - elapsed));
      }
      sb.append(String.format(" | eta %s", eta >= 3600 ? String.format("%.1fh", eta / 3600)
          : eta >= 60 ? String.format("%.0fm", eta / 60) : String.format("%.0fs", eta)));
    }
    return sb.toString();
  }

  /** Tokens per second as 950 or 12.3k. */
  private static String rate(double tokPerSec) {
    return tokPerSec >= 1000 ? String.format("%.1fk", tokPerSec / 1000) : String.format("%.0f", tokPerSec);
  }

  private TrainingDivergedException diverged(RunWriter store, long step, TrainingEngine.Advance r) {
    return new TrainingDivergedException("step " + step + ": loss " + r.loss() + ", gradient norm " + r.gradNorm()
        + " — training diverged; nothing was saved for this step (" + lastGood(store) + "). Fix: lower "
        + "optimizer.lr, set train.max_norm (e.g. 1.0) or add warmup, then resume");
  }

  private static String lastGood(RunWriter store) {
    return store.lastGood();
  }

}
