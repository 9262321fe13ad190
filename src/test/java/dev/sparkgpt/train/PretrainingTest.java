package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.data.TrainingWindows;
import dev.sparkgpt.data.WindowSource;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.TensorBoardFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PretrainingTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final int VOCAB = 16;
  private final Tokenizer tok = Tokenizers.load("gpt2");

  private static int[] stream(int n, long seed) {
    // a learnable sequence: mostly id -> (id * 3 + 1) % VOCAB, some noise
    Random r = new Random(seed);
    int[] s = new int[n];
    for (int i = 1; i < n; i++) {
      s[i] = r.nextInt(10) == 0 ? r.nextInt(VOCAB) : (s[i - 1] * 3 + 1) % VOCAB;
    }
    return s;
  }

  private static PretrainConfig config(Path out, String... sets) {
    List<String> all = new ArrayList<>(List.of("data.text=unused.txt", "train.micro_batch_size=4",
        "train.global_batch_size=8", "train.max_steps=20", "train.lr_warmup_steps=3", "train.log_interval=1",
        "train.save_interval=10", "eval.interval=5", "eval.max_iters=2", "eval.prompt=", "optimizer.lr=5",
        "optimizer.min_lr=0.5"));
    all.addAll(List.of(sets));
    return ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null, all, Map.of("out_dir",
        out.toString()), null).validate();
  }

  private TrainingLoop.Result run(PretrainConfig c, BigramStepModel m) {
    TrainingWindows train = TrainingWindows.fromStream(stream(2000, 1), 8, 8);
    TrainingWindows val = TrainingWindows.fromStream(stream(400, 2), 8, 8);
    LocalEngine engine = new LocalEngine(m, WindowSource.inMemory(train), c.seed(), true, c.train().microBatchSize(),
        c.train().accumulationSteps());
    return new Pretraining(c, engine, val, tok, Map.of("vocab_size", VOCAB), HadoopConf.create(), QUIET).run();
  }

  /** The model of a run that dies inside optimizer step {@code step} (as a killed process would). */
  private static BigramStepModel killedInStep(int step) {
    return new BigramStepModel(VOCAB, 7) {
      int steps;

      @Override
      public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
        if (++steps == step) {
          throw new IllegalStateException("killed");
        }
        return super.step(inputs, targets, lr, maxNorm);
      }
    };
  }

  @Test
  void resumedRunIsBitIdenticalToAStraightRun(@TempDir Path dir) throws Exception {
    BigramStepModel straight = new BigramStepModel(VOCAB, 7);
    TrainingLoop.Result a = run(config(dir.resolve("a")), straight);
    assertEquals(20, a.step());
    assertTrue(a.trainLoss() < Math.log(VOCAB) - 0.5, "the model learned: " + a.trainLoss());

    // the same run, killed after its step-10 checkpoint (the model dies inside step 11)
    BigramStepModel first = killedInStep(11);
    assertThrows(IllegalStateException.class, () -> run(config(dir.resolve("b")), first));
    BigramStepModel second = new BigramStepModel(VOCAB, 99); // fresh process: different init, restored from disk
    TrainingLoop.Result b = run(config(dir.resolve("b")), second);
    assertEquals(20, b.step());
    assertEquals(straight.table, second.table, "weights after 20 steps");
    assertEquals(straight.rng, second.rng);

    List<String> la = Files.readAllLines(dir.resolve("a/metrics.jsonl"));
    List<String> lb = Files.readAllLines(dir.resolve("b/metrics.jsonl"));
    assertEquals(20, la.size());
    assertEquals(20, lb.size(), "no step logged twice or lost");
    for (int i = 0; i < 20; i++) {
      assertEquals(field(la.get(i), "train_loss"), field(lb.get(i), "train_loss"), "line " + i);
      assertEquals(field(la.get(i), "tokens_seen"), field(lb.get(i), "tokens_seen"));
    }
  }

  @Test
  void resumingAFinishedRunTrainsNoFurtherStep(@TempDir Path dir) throws Exception {
    BigramStepModel m = new BigramStepModel(VOCAB, 7);
    run(config(dir), m);
    int[] steps = {0};
    BigramStepModel again = new BigramStepModel(VOCAB, 99) {
      @Override
      public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
        steps[0]++;
        return super.step(inputs, targets, lr, maxNorm);
      }
    };
    TrainingLoop.Result r = run(config(dir), again);
    assertEquals(20, r.step());
    assertEquals("max_steps", r.stopReason());
    assertEquals(0, steps[0], "no step past max_steps");
    assertEquals(20, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    assertEquals(List.of(10L, 20L), new dev.sparkgpt.checkpoint.CheckpointStore(dir.toString(), HadoopConf.create(), 2).steps());
    assertEquals(m.table, again.table, "restored, not changed");
  }

  private static String field(String json, String key) throws Exception {
    return dev.sparkgpt.io.JsonFiles.MAPPER.readTree(json).get(key).asText();
  }

  @Test
  void learningRateWarmsUpThenDecaysToMinLr(@TempDir Path dir) {
    PretrainConfig c = config(dir, "train.lr_warmup_steps=10", "optimizer.lr=1.0", "optimizer.min_lr=0.1");
    Pretraining loop = new Pretraining(c, null, null, null, Map.of(), null, QUIET);
    assertEquals(0.1, loop.learningRate(0, 110), 1e-12);
    assertEquals(1.0, loop.learningRate(9, 110), 1e-12);
    assertEquals(1.0, loop.learningRate(10, 110), 1e-12);
    assertEquals(0.55, loop.learningRate(60, 110), 1e-12);
    assertEquals(0.1, loop.learningRate(110, 110), 1e-12);
  }

  @Test
  void divergenceStopsNamingTheLastGoodCheckpoint(@TempDir Path dir) {
    BigramStepModel m = new BigramStepModel(VOCAB, 7);
    run(config(dir, "train.max_steps=10"), m);
    PretrainConfig explode = config(dir, "optimizer.lr=1e300", "optimizer.min_lr=1e300", "train.max_norm=0");
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> run(explode, m));
    assertTrue(e.getMessage().contains("step-000010") && e.getMessage().contains("optimizer.lr"), e.getMessage());
    assertEquals(List.of(10L), new dev.sparkgpt.checkpoint.CheckpointStore(dir.toString(), HadoopConf.create(), 2).steps());
  }

  @Test
  void resumeWithAnotherArchitectureIsRefusedByField(@TempDir Path dir) {
    run(config(dir, "train.max_steps=10"), new BigramStepModel(VOCAB, 7));
    TrainingWindows w = TrainingWindows.fromStream(stream(200, 1), 8, 8);
    Pretraining other = new Pretraining(config(dir), new LocalEngine(new BigramStepModel(VOCAB, 7), WindowSource.inMemory(w), 1, true, 4,
        2), w, tok, Map.of("vocab_size", 32), HadoopConf.create(), QUIET);
    CheckpointException e = assertThrows(CheckpointException.class, other::run);
    assertTrue(e.getMessage().contains("model.vocab_size") && e.getMessage().contains("16"), e.getMessage());
  }
  @Test
  void offATerminalTheConsoleGetsLogLinesAndNoProgressBar(@TempDir Path dir) throws Exception {
    java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    PretrainConfig c = config(dir, "train.log_interval=5");
    TrainingWindows train = TrainingWindows.fromStream(stream(2000, 1), 8, 8);
    TrainingWindows val = TrainingWindows.fromStream(stream(400, 2), 8, 8);
    BigramStepModel m = new BigramStepModel(VOCAB, 7);
    PrintStream oldErr = System.err;
    System.setErr(new PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      new Pretraining(c, new LocalEngine(m, WindowSource.inMemory(train), c.seed(), true, 4, 2), val, tok, Map.of("vocab_size", VOCAB),
          HadoopConf.create(), new PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8)).run();
    } finally {
      System.setErr(oldErr);
    }
    String out = console.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(!out.contains("\r") && !err.toString(java.nio.charset.StandardCharsets.UTF_8).contains("\r"), out);
    assertEquals("", err.toString(java.nio.charset.StandardCharsets.UTF_8), "the log lines are the progress");
    List<String> steps = out.lines().filter(l -> l.startsWith("step ")).map(l -> l.substring(0, l.indexOf(" |")))
        .toList();
    assertEquals(List.of("step 5/20", "step 10/20", "step 15/20", "step 20/20"), steps, out);
    assertTrue(out.lines().filter(l -> l.startsWith("step ")).allMatch(l -> l.contains(" tok/s | mfu ")
        && l.contains(" | eta ")), out);
  }

  @Test
  void theEtaCountsDownTheTimeBudgetWhenItEndsTheRunFirst(@TempDir Path dir) {
    java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
    // a million steps would take hours; max_seconds=2 ends the run, so no printed eta may exceed 2 s
    PretrainConfig c = config(dir, "train.max_steps=1000000", "train.max_seconds=2", "train.log_interval=50");
    TrainingWindows train = TrainingWindows.fromStream(stream(2000, 1), 8, 8);
    TrainingWindows val = TrainingWindows.fromStream(stream(400, 2), 8, 8);
    new Pretraining(c, new LocalEngine(new BigramStepModel(VOCAB, 7), WindowSource.inMemory(train), c.seed(), true, 4, 2), val, tok,
        Map.of("vocab_size", VOCAB), HadoopConf.create(),
        new PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8)).run();
    List<String> etas = console.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
        .filter(l -> l.startsWith("step ")).map(l -> l.substring(l.indexOf(" | eta ") + 7)).toList();
    assertTrue(!etas.isEmpty());
    assertTrue(etas.stream().allMatch(e -> e.matches("[0-2]s")), etas.toString());
  }

  @Test
  void earlyStopEndsWhenValLossStopsImprovingAndARerunTrainsNoFurther(@TempDir Path dir) throws Exception {
    // validation follows another rule than training, so the better the model learns train, the worse val gets
    int[] other = new int[400];
    for (int i = 1; i < other.length; i++) {
      other[i] = (other[i - 1] * 5 + 2) % VOCAB;
    }
    TrainingWindows train = TrainingWindows.fromStream(stream(2000, 1), 8, 8);
    TrainingWindows val = TrainingWindows.fromStream(other, 8, 8);
    PretrainConfig c = config(dir, "eval.patience=2", "train.max_steps=40");
    java.util.function.Supplier<TrainingLoop.Result> once = () -> new Pretraining(c, new LocalEngine(
        new BigramStepModel(VOCAB, 7), WindowSource.inMemory(train), c.seed(), true, 4, 2), val, tok,
        Map.of("vocab_size", VOCAB), HadoopConf.create(), QUIET).run();
    TrainingLoop.Result r = once.get();
    List<Double> vals = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
      com.fasterxml.jackson.databind.JsonNode n = dev.sparkgpt.io.JsonFiles.MAPPER.readTree(line);
      if (n.has("val_loss")) {
        vals.add(n.get("val_loss").asDouble());
      }
    }
    // evaluations every 5 steps; the run stops at the second one in a row that is not below the best
    int stopAt = -1;
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0, since = 0; i < vals.size() && stopAt < 0; i++) {
      since = vals.get(i) < best ? 0 : since + 1;
      best = Math.min(best, vals.get(i));
      stopAt = since >= 2 ? 5 * (i + 1) : -1;
    }
    assertTrue(stopAt > 0 && stopAt < 40, vals.toString());
    assertEquals(EarlyStop.REASON, r.stopReason());
    assertEquals(stopAt, r.step());
    assertEquals(stopAt / 5, vals.size(), "no evaluation after the stop");
    List<Long> steps = new dev.sparkgpt.checkpoint.CheckpointStore(dir.toString(), HadoopConf.create(), 3).steps();
    assertEquals(stopAt, steps.get(steps.size() - 1), "the step it stopped at is saved");
    TrainingLoop.Result again = once.get();
    assertEquals(EarlyStop.REASON, again.stopReason());
    assertEquals(stopAt, again.step(), "a re-run of an early-stopped run trains no further");
  }

  @Test
  void tensorboardEventsHoldTheMetricsAndAResumeSupersedesTheStepsItRedoes(@TempDir Path dir) throws Exception {
    // killed inside step 13, after the step-10 checkpoint: the first event file holds steps 1..12, the resumed run
    // redoes 11 and 12 in a second file that starts with a START marker at step 11
    BigramStepModel first = killedInStep(13);
    assertThrows(IllegalStateException.class, () -> run(config(dir, "train.tensorboard=true"), first));
    run(config(dir, "train.tensorboard=true"), new BigramStepModel(VOCAB, 99));

    Map<Long, Double> logged = new java.util.TreeMap<>();
    Map<Long, Double> lr = new java.util.TreeMap<>();
    for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
      com.fasterxml.jackson.databind.JsonNode n = dev.sparkgpt.io.JsonFiles.MAPPER.readTree(line);
      logged.put(n.get("step").asLong(), n.get("train_loss").asDouble());
      lr.put(n.get("step").asLong(), n.get("lr").asDouble());
    }
    List<Path> files = TensorBoardFiles.files(dir);
    assertEquals(2, files.size(), files.toString());
    List<org.tensorflow.proto.Event> a = TensorBoardFiles.events(files.get(0));
    List<org.tensorflow.proto.Event> b = TensorBoardFiles.events(files.get(1));
    assertEquals("brain.Event:2", a.get(0).getFileVersion());
    assertEquals(org.tensorflow.proto.SessionLog.SessionStatus.START, a.get(1).getSessionLog().getStatus());
    assertEquals(0, a.get(1).getStep());
    assertEquals(org.tensorflow.proto.SessionLog.SessionStatus.START, b.get(1).getSessionLog().getStatus());
    assertEquals(11, b.get(1).getStep(), "the resumed run's first step");
    Map<Long, Float> firstRun = TensorBoardFiles.scalars(a, "train_loss");
    Map<Long, Float> resumed = TensorBoardFiles.scalars(b, "train_loss");
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), List.copyOf(firstRun.keySet()));
    assertEquals(10, resumed.size());
    for (long step = 1; step <= 20; step++) {
      float expected = (float) (double) logged.get(step);
      assertEquals(expected, step <= 10 ? firstRun.get(step) : resumed.get(step), "train_loss at step " + step);
      assertEquals((float) (double) lr.get(step), TensorBoardFiles.scalars(step <= 10 ? a : b, "lr").get(step), "lr at " + step);
    }
    assertTrue(TensorBoardFiles.scalars(b, "val_loss").containsKey(15L), "eval steps carry val_loss");

    // TensorBoard itself, where it is installed: one point per step, the resumed run's for 11 and 12
    String python = System.getenv().getOrDefault("TENSORBOARD_PYTHON", dev.sparkgpt.PythonProcess.python());
    dev.sparkgpt.PythonProcess.Result probe = dev.sparkgpt.PythonProcess.run(List.of(python, "-c",
        "import tensorboard.backend.event_processing.event_accumulator"), dir, Map.of());
    org.junit.jupiter.api.Assumptions.assumeTrue(probe.exitCode() == 0,
        python + " cannot import tensorboard (pip install tensorboard; TENSORBOARD_PYTHON names the interpreter)");
    dev.sparkgpt.PythonProcess.Result tb = dev.sparkgpt.PythonProcess.run(List.of(python,
        "src/test/resources/tensorboard_scalars.py", dir.resolve("tensorboard").toString()), dir, Map.of());
    assertEquals(0, tb.exitCode(), tb.output());
    String json = tb.output().lines().filter(l -> l.startsWith("{")).reduce((x, y) -> y).orElseThrow();
    com.fasterxml.jackson.databind.JsonNode points = dev.sparkgpt.io.JsonFiles.MAPPER.readTree(json).get("train_loss");
    assertEquals(20, points.size(), json);
    for (int i = 0; i < 20; i++) {
      assertEquals(i + 1, points.get(i).get(0).asLong());
      assertEquals((float) (double) logged.get(i + 1L), (float) points.get(i).get(1).asDouble(), "step " + (i + 1));
    }
  }
}
