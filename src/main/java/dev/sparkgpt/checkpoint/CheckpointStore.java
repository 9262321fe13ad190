package dev.sparkgpt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.AtomicFiles;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsFormatException;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.SafetensorsWriter;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The checkpoints of a run directory on any Hadoop file system: {@code step-NNNNNN/} directories holding
 * {@code model.safetensors} (weights), {@code optimizer.safetensors} (moments) and {@code state.json}, plus a
 * {@code latest} file naming the newest. A checkpoint is written in a hidden staging directory (state.json last,
 * synced) and renamed into place; only then is {@code latest} replaced, in one rename-over step. A crash at any point
 * leaves the previous checkpoint intact and {@code latest} naming a complete one; if {@code latest} itself is lost,
 * {@link #latest} finds the newest complete step instead (with a warning), so a re-run never silently starts afresh.
 */
public final class CheckpointStore {
  public static final String WEIGHTS = "model.safetensors";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String STATE = "state.json";
  public static final String LATEST = "latest";
  public static final int FORMAT_VERSION = 1;
  private static final String STAGING = ".staging-";

  private final Path root;
  private final Configuration conf;
  private final int keepLast;

  public CheckpointStore(String outDir, Configuration conf, int keepLast) {
    this(new Path(outDir), conf, keepLast);
  }

  public CheckpointStore(Path outDir, Configuration conf, int keepLast) {
    if (keepLast < 1) {
      throw new IllegalArgumentException("keep_last must be ≥ 1, got " + keepLast);
    }
    this.root = outDir;
    this.conf = conf;
    this.keepLast = keepLast;
  }

  public Path root() {
    return root;
  }

  /** The directory name of the checkpoint of {@code step}. */
  public static String dirName(long step) {
    return String.format("step-%06d", step);
  }

  /**
   * Writes a checkpoint of {@code step}, points {@code latest} at it and prunes all but the newest keep_last (never
   * the one {@code latest} names). {@code state} is any JSON-serialisable map ({@code format_version} and
   * {@code step} are added).
   */
  public Path save(long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer, Map<String, Object> state) {
    return save(step, weights, optimizer, state, staging -> { });
  }

  /**
   * As above; {@code extra} writes further files into the staging directory before state.json (parameter-averaging
   * workers' moments, written by the workers themselves), so they are part of the same atomic rename.
   */
  public Path save(long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer, Map<String, Object> state,
      java.util.function.Consumer<Path> extra) {
    Path target = new Path(root, dirName(step));
    Path staging = new Path(root, "." + dirName(step) + STAGING + UUID.randomUUID());
    try {
      FileSystem fs = root.getFileSystem(conf);
      fs.mkdirs(staging);
      SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "sparkgpt");
      weights.forEach(w::add);
      w.write(new Path(staging, WEIGHTS), conf);
      SafetensorsWriter o = new SafetensorsWriter().putMetadata("format", "sparkgpt");
      optimizer.forEach(o::add);
      o.write(new Path(staging, OPTIMIZER), conf);
      extra.accept(staging);
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("format_version", FORMAT_VERSION);
      doc.put("step", step);
      doc.putAll(state);
      try (FSDataOutputStream out = fs.create(new Path(staging, STATE), true)) {
        out.write(JsonFiles.toJson(doc).getBytes(StandardCharsets.UTF_8));
        AtomicFiles.sync(out);
      }
      if (fs.exists(target)) {
        fs.delete(target, true); // a re-run of the same step after a crash between rename and 'latest'
      }
      if (!fs.rename(staging, target)) {
        throw new IOException("rename " + staging + " -> " + target + " failed");
      }
      AtomicFiles.writeText(new Path(root, LATEST), dirName(step) + "\n", conf);
      prune(fs, dirName(step));
      return target;
    } catch (IOException | RuntimeException e) {
      try {
        root.getFileSystem(conf).delete(staging, true);
      } catch (IOException ignored) {
        // the staging name is hidden and unique: a leftover never looks like a checkpoint (collected later)
      }
      if (e instanceof CheckpointException ce) {
        throw ce;
      }
      throw new CheckpointException(target + ": cannot write checkpoint: " + e.getMessage()
          + ". Fix: check free space and permissions of out_dir", e);
    }
  }

  /** Steps of the complete checkpoints (a step-NNNNNN directory with its state.json) under out_dir, oldest first. */
  public List<Long> steps() {
    List<Long> steps = new ArrayList<>();
    try {
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(root)) {
        return steps;
      }
      for (FileStatus s : fs.listStatus(root)) {
        String name = s.getPath().getName();
        if (s.isDirectory() && name.matches("step-\\d{6,}") && fs.exists(new Path(s.getPath(), STATE))) {
          steps.add(Long.parseLong(name.substring(5)));
        }
      }
    } catch (IOException e) {
      throw new CheckpointException(root + ": cannot list checkpoints: " + e.getMessage(), e);
    }
    steps.sort(null);
    return steps;
  }

  /** Keeps {@code keep} (what latest names) and the newest keep_last − 1 others. */
  private void prune(FileSystem fs, String keep) throws IOException {
    List<Long> others = new ArrayList<>(steps());
    others.removeIf(s -> dirName(s).equals(keep));
    for (int i = 0; i < others.size() - (keepLast - 1); i++) {
      fs.delete(new Path(root, dirName(others.get(i))), true);
    }
  }

  /**
   * Deletes what a crashed writer left: hidden {@code .step-NNNNNN.staging-*} directories and temporary files. Only
   * the run's single writer (the holder of its {@link RunLease}) calls this. Returns how many entries went.
   */
  public int collectLeftovers() {
    int removed = 0;
    try {
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(root)) {
        return 0;
      }
      for (FileStatus s : fs.listStatus(root)) {
        String name = s.getPath().getName();
        if ((name.startsWith(".step-") && name.contains(STAGING)) || name.startsWith(AtomicFiles.TMP_PREFIX)) {
          fs.delete(s.getPath(), true);
          removed++;
        }
      }
    } catch (IOException e) {
      throw new CheckpointException(root + ": cannot list leftovers of an earlier run: " + e.getMessage(), e);
    }
    return removed;
  }

  /**
   * The step directory {@code latest} names. Without a readable {@code latest} (lost in a crash, or naming a step
   * that is gone) but with complete steps, the newest complete one, after a warning on {@code warn}; empty when the
   * run has no checkpoint at all.
   */
  public Optional<Path> latest(PrintStream warn) {
    try {
      FileSystem fs = root.getFileSystem(conf);
      Path latest = new Path(root, LATEST);
      String problem;
      try {
        String name = AtomicFiles.readText(latest, conf).strip();
        if (name.matches("step-\\d{6,}") && fs.exists(new Path(new Path(root, name), STATE))) {
          return Optional.of(new Path(root, name));
        }
        problem = LATEST + " names \"" + name + "\", which is not a complete checkpoint";
      } catch (FileNotFoundException e) {
        problem = "no " + LATEST + " file";
      }
      List<Long> steps = steps();
      if (steps.isEmpty()) {
        if (problem.startsWith("no ")) {
          return Optional.empty();
        }
        throw new CheckpointException(root + ": " + problem + " and no complete step-NNNNNN checkpoint exists. Fix: "
            + "delete " + latest + " to start afresh, or point at another run directory");
      }
      Path newest = new Path(root, dirName(steps.get(steps.size() - 1)));
      warn.printf("warning: %s: %s; using the newest complete checkpoint %s%n", root, problem, newest.getName());
      return Optional.of(newest);
    } catch (IOException e) {
      throw new CheckpointException(root + ": cannot read " + LATEST + ": " + e.getMessage(), e);
    }
  }

  /** The checkpoint {@link #latest} resolves to (weights and optimizer moments), if any. */
  public Optional<CheckpointState> loadLatest() {
    return latest(System.err).map(dir -> load(dir, true, conf));
  }

  /** One step directory of any run (weights and optimizer moments); a missing or corrupt file is named. */
  public CheckpointState load(Path dir) {
    return load(dir, true, conf);
  }

  /** Reads the state.json of a step directory (format checked). */
  static JsonNode readState(Path dir, Configuration conf) {
    JsonNode state;
    Path file = new Path(dir, STATE);
    try {
      state = JsonFiles.MAPPER.readTree(AtomicFiles.readText(file, conf));
    } catch (FileNotFoundException e) {
      throw new CheckpointException(dir + ": no " + STATE + ": not a complete SparkGPT checkpoint", e);
    } catch (IOException e) {
      throw new CheckpointException(file + ": unreadable (" + e.getMessage() + ")", e);
    }
    if (state == null || state.path("format_version").asInt() != FORMAT_VERSION) {
      throw new CheckpointException(file + ": format_version " + (state == null ? "(empty file)"
          : state.path("format_version")) + ", expected " + FORMAT_VERSION);
    }
    return state;
  }

  /** Loads a step directory: weights, and the optimizer moments when {@code withOptimizer}. */
  static CheckpointState load(Path dir, boolean withOptimizer, Configuration conf) {
    JsonNode state = readState(dir, conf);
    Map<String, INDArray> optimizer = withOptimizer ? readAll(new Path(dir, OPTIMIZER), conf) : Map.of();
    return new CheckpointState(dir, state.path("step").asLong(), readAll(new Path(dir, WEIGHTS), conf), optimizer,
        state);
  }

  /** Every tensor of a checkpoint file (float32), a missing or corrupt file named. */
  public static Map<String, INDArray> readTensors(Path file, Configuration conf) {
    return readAll(file, conf);
  }

  /** Every tensor of {@code file} as float32. */
  static Map<String, INDArray> readAll(Path file, Configuration conf) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    try (SafetensorsReader reader = SafetensorsReader.open(file, conf)) {
      for (String name : reader.names()) {
        out.put(name, reader.readArray(name, DataType.FLOAT));
      }
    } catch (InputException | SafetensorsFormatException e) {
      throw new CheckpointException(file + ": " + e.getMessage() + ". Fix: resume from an earlier step-NNNNNN "
          + "directory or start a new out_dir", e);
    }
    return out;
  }
}
