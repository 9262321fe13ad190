package dev.sparkgpt.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import java.util.function.Supplier;

/**
 * The one training loop, shared by pretraining ({@link Pretraining}) and every finetune: ask the engine to advance
 * (one local step, or one parameter-averaging round), stop on a non-finite loss naming the last good checkpoint, ask
 * the stop rule whether the run is done, then hand the new state to the listeners in order — metrics lines,
 * evaluation, samples, early stop, checkpoints, progress. What differs between runs is only which listeners they
 * pass and when those act; the order of the loop itself is the same for all.
 *
 * <p>A listener that evaluates puts what it measured into {@link State#evaluation()}; the listeners after it in the
 * list read it (a metrics line, early stopping, the checkpoint's best value). Any listener may end the run with
 * {@link State#stop(String)}; the listeners after it still see that step, so a checkpoint listener saves it.
 */
public final class TrainingLoop {
  /** How a run ended. */
  public record Result(long step, long tokensSeen, double trainLoss, Double valLoss, String stopReason) {}

  /** Acts after every advance (and once at the end of the run). */
  public interface Listener {
    /** After an advance: {@code s.last()} is what it did, {@code s.step()} the global step after it. */
    void afterAdvance(State s);

    /** Once, after the last advance (also when a resumed run had nothing left to do). */
    default void end(State s) {}
  }

  /** Decides from the state after an advance (or before the first) whether the run is done: a reason, or null. */
  public interface StopRule {
    String reason(State s);
  }

  /** The run as the listeners see it. */
  public static final class State {
    private final long startNanos = System.nanoTime();
    private final long startTokens;
    private long step;
    private long stepBefore;
    private long tokensSeen;
    private TrainingEngine.Advance last;
    private String stop;
    private Double lastEvaluation;
    private final Map<String, Object> evaluation = new LinkedHashMap<>();

    /** A run starting (or resuming) at {@code step} with {@code tokensSeen} tokens behind it. */
    public State(long step, long tokensSeen) {
      this.step = step;
      this.stepBefore = step;
      this.tokensSeen = tokensSeen;
      this.startTokens = tokensSeen;
    }

    public long step() {
      return step;
    }

    /** The global step before the latest advance. */
    public long stepBefore() {
      return stepBefore;
    }

    public long tokensSeen() {
      return tokensSeen;
    }

    /** Tokens trained in this process (not counting a resumed run's past). */
    public long tokensThisRun() {
      return tokensSeen - startTokens;
    }

    /** The latest advance (null before the first). */
    public TrainingEngine.Advance last() {
      return last;
    }

    /** Seconds since this process started the loop. */
    public double elapsed() {
      return (System.nanoTime() - startNanos) / 1e9;
    }

    /** Why the run ends after this step, or null while it goes on. */
    public String stopReason() {
      return stop;
    }

    public boolean stopping() {
      return stop != null;
    }

    /** Ends the run after this step (the first reason given wins). */
    public void stop(String reason) {
      if (stop == null) {
        stop = reason;
      }
    }

    /** Whether a multiple of {@code interval} lies in (step before, step]: interval-based listeners act then. */
    public boolean crossed(long interval) {
      return interval > 0 && step / interval > stepBefore / interval;
    }

    /** What an evaluation measured at this step (empty when none ran); cleared before every advance. */
    public Map<String, Object> evaluation() {
      return evaluation;
    }

    /** Records the headline evaluation value of this step (validation loss), kept as the run's latest. */
    public void evaluated(String key, double value) {
      evaluation.put(key, value);
      lastEvaluation = value;
    }

    /** The latest headline evaluation value of this process, or null. */
    public Double lastEvaluation() {
      return lastEvaluation;
    }

    void advanced(TrainingEngine.Advance a) {
      stepBefore = step;
      step += a.steps();
      tokensSeen += a.tokens();
      last = a;
    }
  }

  private final TrainingEngine engine;
  private final LongToDoubleFunction learningRate;
  private final double maxNorm;
  private final StopRule stopRule;
  private final List<Listener> listeners;
  private final Supplier<String> lastGood;

  /**
   * @param learningRate the learning rate of each global step
   * @param maxNorm gradient clipping (0 = none)
   * @param lastGood names the newest checkpoint a diverged run can go back to
   */
  public TrainingLoop(TrainingEngine engine, LongToDoubleFunction learningRate, double maxNorm, StopRule stopRule,
      List<Listener> listeners, Supplier<String> lastGood) {
    this.engine = engine;
    this.learningRate = learningRate;
    this.maxNorm = maxNorm;
    this.stopRule = stopRule;
    this.listeners = List.copyOf(listeners);
    this.lastGood = lastGood;
  }

  /** Advances until the stop rule or a listener ends the run; returns the final state. */
  public State run(State s) {
    s.stop(stopRule.reason(s));
    while (!s.stopping()) {
      TrainingEngine.Advance a;
      try {
        a = engine.advance(s.step(), learningRate, maxNorm);
      } catch (TrainingDivergedException e) {
        throw new TrainingDivergedException(e.getMessage() + " (" + lastGood.get() + ")");
      }
      if (!Double.isFinite(a.loss()) || !Double.isFinite(a.gradNorm())) {
        throw new TrainingDivergedException("step " + (s.step() + a.steps()) + ": loss " + a.loss()
            + ", gradient norm " + a.gradNorm() + " — training diverged; nothing was saved for this step ("
            + lastGood.get() + "). Fix: lower optimizer.lr, set train.max_norm (e.g. 1.0) or add warmup, then resume");
      }
      s.evaluation.clear();
      s.advanced(a);
      s.stop(stopRule.reason(s));
      for (Listener l : listeners) {
        l.afterAdvance(s);
      }
    }
    for (Listener l : listeners) {
      l.end(s);
    }
    return s;
  }
}
