package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.JsonFiles;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongToDoubleFunction;
import org.junit.jupiter.api.Test;

/** The loop itself, on an engine that replays scripted losses: order, stopping, divergence, early stop. */
class TrainingLoopTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  /** Advances {@code stepsPerAdvance} steps of 10 tokens each time, with the scripted losses. */
  private static final class Scripted implements TrainingEngine {
    final double[] losses;
    final int stepsPerAdvance;
    final List<Double> lrs = new ArrayList<>();
    int next;

    Scripted(int stepsPerAdvance, double... losses) {
      this.losses = losses;
      this.stepsPerAdvance = stepsPerAdvance;
    }

    @Override
    public Advance advance(long step, LongToDoubleFunction lr, double maxNorm) {
      lrs.add(lr.applyAsDouble(step));
      double loss = losses[next++];
      return new Advance(stepsPerAdvance, 10L * stepsPerAdvance, loss, 1.0, Map.of());
    }

    @Override
    public StepModel model() {
      return null;
    }

    @Override
    public Map<String, Object> cursor() {
      return Map.of();
    }

    @Override
    public void restoreCursor(JsonNode cursor) {}

    @Override
    public long windowsPerEpoch() {
      return 0;
    }

    @Override
    public long epoch() {
      return 0;
    }
  }

  private static TrainingLoop loop(TrainingEngine engine, long maxSteps, List<TrainingLoop.Listener> listeners) {
    return new TrainingLoop(engine, step -> step / 8.0, 1.0, s -> s.step() >= maxSteps ? "max_steps" : null,
        listeners, () -> "last good: step-000004");
  }

  @Test
  void listenersSeeEachAdvanceInOrderAndWhatEarlierOnesMeasured() {
    Scripted engine = new Scripted(2, 5, 4, 3, 2, 1);
    List<String> seen = new ArrayList<>();
    TrainingLoop.Listener evaluate = s -> {
      if (s.crossed(4)) {
        s.evaluated("val_loss", s.last().loss() + 0.5);
      }
    };
    TrainingLoop.Listener record = new TrainingLoop.Listener() {
      @Override
      public void afterAdvance(TrainingLoop.State s) {
        seen.add(s.stepBefore() + "->" + s.step() + " " + s.evaluation() + (s.stopping() ? " " + s.stopReason()
            : ""));
      }

      @Override
      public void end(TrainingLoop.State s) {
        seen.add("end " + s.tokensSeen());
      }
    };
    TrainingLoop.State end = loop(engine, 10, List.of(evaluate, record)).run(new TrainingLoop.State(0, 0));
    assertEquals(List.of("0->2 {}", "2->4 {val_loss=4.5}", "4->6 {}", "6->8 {val_loss=2.5}",
        "8->10 {} max_steps", "end 100"), seen);
    assertEquals(List.of(0.0, 0.25, 0.5, 0.75, 1.0), engine.lrs, "the rate of the global step each advance starts at");
    assertEquals(2.5, end.lastEvaluation());
    assertEquals(100, end.tokensThisRun());
  }

  @Test
  void aListenerThatStopsStillLetsTheLaterOnesSeeTheStep() {
    List<Long> saved = new ArrayList<>();
    TrainingLoop.Listener stopAt3 = s -> {
      if (s.step() == 3) {
        s.stop("enough");
      }
    };
    TrainingLoop.Listener save = s -> {
      if (s.stopping()) {
        saved.add(s.step());
      }
    };
    TrainingLoop.State end = loop(new Scripted(1, 1, 1, 1, 1, 1), 5, List.of(stopAt3, save))
        .run(new TrainingLoop.State(0, 0));
    assertEquals("enough", end.stopReason());
    assertEquals(3, end.step());
    assertEquals(List.of(3L), saved);
  }

  @Test
  void aResumedRunAlreadyAtItsLimitAdvancesNeverButEndsItsListeners() {
    Scripted engine = new Scripted(1, 1);
    int[] ends = {0};
    TrainingLoop.Listener l = new TrainingLoop.Listener() {
      @Override
      public void afterAdvance(TrainingLoop.State s) {
        throw new AssertionError("no advance expected");
      }

      @Override
      public void end(TrainingLoop.State s) {
        ends[0]++;
      }
    };
    TrainingLoop.State end = loop(engine, 10, List.of(l)).run(new TrainingLoop.State(10, 500));
    assertEquals("max_steps", end.stopReason());
    assertEquals(0, engine.next);
    assertEquals(1, ends[0]);
    assertNull(end.last());
  }

  @Test
  void aNonFiniteLossStopsNamingTheStepAndTheLastGoodCheckpoint() {
    List<Long> after = new ArrayList<>();
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
        () -> loop(new Scripted(2, 3, Double.NaN, 1), 10, List.of(s -> after.add(s.step())))
            .run(new TrainingLoop.State(0, 0)));
    assertTrue(e.getMessage().startsWith("step 4: loss NaN") && e.getMessage().contains("step-000004")
        && e.getMessage().contains("optimizer.lr"), e.getMessage());
    assertEquals(List.of(2L), after, "listeners never see the diverged step (nothing is saved of it)");
  }

  @Test
  void earlyStopEndsAfterPatienceEvaluationsWithoutImprovementAndResumesItsCount() throws Exception {
    double[] vals = {3.0, 2.0, 2.5, 2.0, 2.1, 1.0};
    TrainingLoop.Listener evaluate = s -> s.evaluated("val_loss", vals[(int) s.step() - 1]);
    EarlyStop stop = new EarlyStop("val_loss", 3, QUIET);
    TrainingLoop.State end = loop(new Scripted(1, 1, 1, 1, 1, 1, 1), 6, List.of(evaluate, stop))
        .run(new TrainingLoop.State(0, 0));
    // best 2.0 at step 2; 2.5, 2.0 (not better), 2.1: three evaluations without improvement
    assertEquals(EarlyStop.REASON, end.stopReason());
    assertEquals(5, end.step());
    assertTrue(stop.exhausted());
    JsonNode saved = JsonFiles.MAPPER.valueToTree(stop.state());
    assertEquals(2.0, saved.get("best").asDouble());
    assertEquals(3, saved.get("evaluations_since_best").asInt());

    // resumed after step 3 (best 2.0, one evaluation since): stops at the same step as the straight run
    EarlyStop resumed = new EarlyStop("val_loss", 3, QUIET);
    resumed.restore(JsonFiles.MAPPER.readTree("{\"best\": 2.0, \"evaluations_since_best\": 1}"), 9.0);
    TrainingLoop.State again = loop(new Scripted(1, 1, 1, 1), 6, List.of(evaluate, resumed))
        .run(new TrainingLoop.State(3, 0));
    assertEquals(5, again.step());
    assertEquals(EarlyStop.REASON, again.stopReason());

    EarlyStop off = new EarlyStop("val_loss", 0, QUIET);
    assertEquals("max_steps", loop(new Scripted(1, 1, 1, 1, 1, 1, 1), 6, List.of(evaluate, off))
        .run(new TrainingLoop.State(0, 0)).stopReason(), "patience 0 never stops");
  }
}
