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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;

/**
 * Pretraining on {@link TrainingLoop}, independent of where a step is computed: resume checks (architecture,
 * tokenizer, data), warmup + cosine learning rate, the stop rule (max_steps / max_tokens / max_seconds), and its
 * listeners in order: metrics.jsonl and console lines with validation loss and a sample at each evaluation, early
 * stop (eval.patience), checkpoints (exact resume: weights, optimizer, data cursor, RNG, step), the progress bar.
 */
public final class Pretraining {
  private final PretrainConfig config;
  private final TrainingEngine engine;
  private final StepModel model;
  private final TrainingWindows val;
  private final Tokenizer tokenizer;
  private final Map<String, Object> modelDescription;
  private final Configuration conf;
  private final PrintStream console;

  public Pretraining(PretrainConfig config, TrainingEngine engine, TrainingWindows val, Tokenizer tokenizer,
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

  public TrainingLoop.Result run() {
    try (RunWriter store = RunWriter.open(config.outDir(), config.train().keepLast(), conf, console)) {
      return run(store);
    }
  }

  private TrainingLoop.Result run(RunWriter store) {
    PretrainConfig.Train t = config.train();
    String manifestHash = manifestHash();
    TrainingLoop.State start = new TrainingLoop.State(0, 0);
    EarlyStop earlyStop = new EarlyStop("val_loss", config.eval().patience(), console);
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
      start = new TrainingLoop.State(ck.step(), s.path("tokens_seen").asLong());
      earlyStop.restore(s.path("early_stop"), s.path("best_val_loss").asDouble(Double.POSITIVE_INFINITY));
      console.printf("pretrain: resumed from %s (step %d, %,d tokens seen)%n", ck.dir(), start.step(),
          start.tokensSeen());
      String done = stopReason(start);
      if (done == null && earlyStop.exhausted()) {
        done = EarlyStop.REASON;
      }
      if (done != null) {
        // a re-run of a finished run (a pipeline retry, a resubmitted job): no step beyond the limit
        console.printf("pretrain: already at %s (step %d); nothing to train -> %s%n", done, start.step(),
            config.outDir());
        return new TrainingLoop.Result(start.step(), start.tokensSeen(), Double.NaN, null, done);
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

    AtomicLong stepNow = new AtomicLong(start.step());
    AtomicReference<String> status = new AtomicReference<>("");
    TrainingLoop.State end;
    try (MetricsLog metrics = MetricsLog.open(config.outDir(), resumed.isPresent() ? start.step() : -1, conf)
            .withTensorBoard(t.tensorboard(), resumed.isPresent() ? start.step() + 1 : 0);
        Progress bar = Progress.start(new Progress.Spec("pretrain", () -> totalSteps, "steps", 1, stepNow::get,
            status::get, true))) {
      TrainingLoop.Listener log = new LogLines(metrics, totalSteps, stepNow, status);
      Checkpointing save = new Checkpointing(store, engine, s -> s.stopping() || s.crossed(t.saveInterval()),
          s -> checkpointState(s, earlyStop, manifestHash));
      TrainingLoop loop = new TrainingLoop(engine, step -> learningRate(step, totalSteps), t.maxNorm(),
          this::stopReason, List.of(log, earlyStop, save), store::lastGood);
      end = loop.run(start);
    }
    TrainingEngine.Advance last = end.last();
    double lastLoss = last == null ? Double.NaN : last.loss();
    Double lastVal = end.lastEvaluation();
    console.printf("pretrain: stopped (%s) at step %d, %,d tokens seen, train loss %.4f%s -> %s%n",
        end.stopReason(), end.step(), end.tokensSeen(), lastLoss,
        lastVal == null ? "" : String.format(", val loss %.4f", lastVal), config.outDir());
    return new TrainingLoop.Result(end.step(), end.tokensSeen(), lastLoss, lastVal, end.stopReason());
  }

  /** What a pretraining checkpoint's state.json holds beyond what the store writes itself. */
  private Map<String, Object> checkpointState(TrainingLoop.State s, EarlyStop earlyStop, String manifestHash) {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("tokens_seen", s.tokensSeen());
    state.put("cursor", engine.cursor());
    state.put("rng", model.rngState());
    state.put("best_val_loss", Double.isFinite(earlyStop.best()) ? earlyStop.best() : null);
    state.put("early_stop", earlyStop.state());
    if (s.stopping()) {
      state.put("stop_reason", s.stopReason());
    }
    state.put("model", modelDescription);
    state.put("tokenizer", Fingerprints.tokenizer(tokenizer));
    if (manifestHash != null) {
      state.put("data", Map.of("shards", config.data().shards(), "manifest_hash", manifestHash));
    }
    state.put("config_yaml", ConfigLoader.toYaml(config));
    state.putAll(engine.checkpointState());
    return state;
  }

  /**
   * Pretraining's metrics listener: a metrics.jsonl line and a console line every log_interval steps, and at every
   * evaluation (eval.interval steps and the stop) the validation loss in the same line, then a sample.
   */
  private final class LogLines implements TrainingLoop.Listener {
    private final MetricsLog metrics;
    private final long totalSteps;
    private final AtomicLong stepNow;
    private final AtomicReference<String> status;
    private final double peak = PeakFlops.get();
    private long intervalStart = System.nanoTime();
    private long intervalTokens;

    LogLines(MetricsLog metrics, long totalSteps, AtomicLong stepNow, AtomicReference<String> status) {
      this.metrics = metrics;
      this.totalSteps = totalSteps;
      this.stepNow = stepNow;
      this.status = status;
    }

    @Override
    public void afterAdvance(TrainingLoop.State s) {
      TrainingEngine.Advance r = s.last();
      long step = s.step();
      intervalTokens += r.tokens();
      double lr = learningRate(step - 1, totalSteps);
      double elapsed = s.elapsed();
      stepNow.set(step);
      status.set(String.format(" loss %.3f, %s tok/s", r.loss(), rate(s.tokensThisRun() / elapsed)));
      boolean evalNow = s.stopping() || s.crossed(config.eval().interval());
      if (!evalNow && !s.crossed(config.train().logInterval())) {
        return;
      }
      double seconds = (System.nanoTime() - intervalStart) / 1e9;
      double tokPerSec = intervalTokens / Math.max(seconds, 1e-9);
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("step", step);
      line.put("tokens_seen", s.tokensSeen());
      line.put("epoch", engine.epoch());
      line.put("train_loss", r.loss());
      line.put("lr", lr);
      line.put("grad_norm", r.gradNorm());
      line.put("tokens_per_sec", tokPerSec);
      line.put("mfu", tokPerSec * model.flopsPerToken() / (peak * engine.parallelWorkers()));
      line.put("elapsed_s", elapsed);
      line.putAll(r.metrics());
      Double valNow = null;
      if (evalNow && val.size() > 0) {
        valNow = validationLoss();
        s.evaluated("val_loss", valNow);
        line.put("val_loss", valNow);
      }
      metrics.write(line);
      console.println(progressLine(step, totalSteps, r, valNow, lr, tokPerSec, line, elapsed));
      if (evalNow) {
        printSample(step);
      }
      intervalStart = System.nanoTime();
      intervalTokens = 0;
    }
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

  /** The configured limits: max_steps, max_tokens, max_seconds (this process's time), whichever comes first. */
  private String stopReason(TrainingLoop.State s) {
    PretrainConfig.Train t = config.train();
    if (t.maxSteps() > 0 && s.step() >= t.maxSteps()) {
      return "max_steps";
    }
    if (t.maxTokens() > 0 && s.tokensSeen() >= t.maxTokens()) {
      return "max_tokens";
    }
    if (t.maxSeconds() > 0 && s.last() != null && s.elapsed() >= t.maxSeconds()) {
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

  private String progressLine(long step, long totalSteps, TrainingEngine.Advance r, Double val, double lr,
      double tokPerSec, Map<String, Object> line, double elapsed) {
    StringBuilder sb = new StringBuilder();
    sb.append(totalSteps > 0 ? String.format("step %d/%d", step, totalSteps) : String.format("step %d", step));
    sb.append(String.format(" | loss %.4f", r.loss()));
    if (val != null) {
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
}
