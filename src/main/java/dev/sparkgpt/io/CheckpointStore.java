package dev.sparkgpt.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The checkpoints of a run under {@code out_dir} (any Hadoop file system): {@code step-NNNNNN/} directories holding
 * {@code model.safetensors} (weights), {@code optimizer.safetensors} (moments) and {@code state.json} (step, data
 * cursor, RNG, configs), plus a {@code latest} file naming the newest. A checkpoint is written in a hidden staging
 * directory and renamed into place; {@code latest} is replaced only after that, so a crash at any point leaves the
 * previous checkpoint intact and {@code latest} pointing at a complete one.
 */
public final class CheckpointStore {
  public static final String WEIGHTS = "model.safetensors";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String STATE = "state.json";
  public static final String LATEST = "latest";
  public static final int FORMAT_VERSION = 1;

  private final Path root;
  private final Configuration conf;
  private final int keepLast;

  /** A loaded checkpoint: tensors by name (float32) and the state document. */
  public record Loaded(Path dir, long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer,
      JsonNode state) {}

  public CheckpointStore(String outDir, Configuration conf, int keepLast) {
    if (keepLast < 1) {
      throw new IllegalArgumentException("keep_last must be ≥ 1, got " + keepLast);
    }
    this.root = new Path(outDir);
    this.conf = conf;
    this.keepLast = keepLast;
  }

  /** The directory name of the checkpoint of {@code step}. */
  public static String dirName(long step) {
    return String.format("step-%06d", step);
  }

  /**
   * Writes a checkpoint of {@code step}, points {@code latest} at it and prunes all but the newest keep_last.
   * {@code state} is any JSON-serialisable value (it gets {@code format_version} and {@code step} added).
   */
  public Path save(long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer, Map<String, Object> state) {
    Path target = new Path(root, dirName(step));
    Path staging = new Path(root, "." + dirName(step) + ".staging-" + UUID.randomUUID());
    try {
      FileSystem fs = root.getFileSystem(conf);
      fs.mkdirs(staging);
      SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "sparkgpt");
      weights.forEach(w::add);
      w.write(new Path(staging, WEIGHTS), conf);
      SafetensorsWriter o = new SafetensorsWriter().putMetadata("format", "sparkgpt");
      optimizer.forEach(o::add);
      o.write(new Path(staging, OPTIMIZER), conf);
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("format_version", FORMAT_VERSION);
      doc.put("step", step);
      doc.putAll(state);
      writeText(fs, new Path(staging, STATE), JsonFiles.toJson(doc));
      if (fs.exists(target)) {
        fs.delete(target, true); // a re-run of the same step after a crash between rename and 'latest'
      }
      if (!fs.rename(staging, target)) {
        throw new IOException("rename " + staging + " -> " + target + " failed");
      }
      Path latestTmp = new Path(root, "." + LATEST + ".tmp-" + UUID.randomUUID());
      writeText(fs, latestTmp, dirName(step) + "\n");
      fs.delete(new Path(root, LATEST), false);
      if (!fs.rename(latestTmp, new Path(root, LATEST))) {
        throw new IOException("could not update " + new Path(root, LATEST));
      }
      prune(fs);
      return target;
    } catch (IOException | RuntimeException e) {
      try {
        root.getFileSystem(conf).delete(staging, true);
      } catch (IOException ignored) {
        // the staging name is hidden and unique: a leftover never looks like a checkpoint
      }
      if (e instanceof CheckpointException ce) {
        throw ce;
      }
      throw new CheckpointException(target + ": cannot write checkpoint: " + e.getMessage()
          + ". Fix: check free space and permissions of out_dir", e);
    }
  }

  private static void writeText(FileSystem fs, Path path, String text) throws IOException {
    try (OutputStream out = fs.create(path, true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Steps of the complete checkpoints under out_dir, oldest first. */
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

  private void prune(FileSystem fs) throws IOException {
    List<Long> steps = steps();
    for (int i = 0; i < steps.size() - keepLast; i++) {
      fs.delete(new Path(root, dirName(steps.get(i))), true);
    }
  }

  /** The checkpoint {@code latest} names, if any. */
  public Optional<Loaded> loadLatest() {
    try {
      FileSystem fs = root.getFileSystem(conf);
      Path latest = new Path(root, LATEST);
      if (!fs.exists(latest)) {
        return Optional.empty();
      }
      String name;
      try (InputStream in = fs.open(latest)) {
        name = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      return Optional.of(load(new Path(root, name)));
    } catch (IOException e) {
      throw new CheckpointException(root + ": cannot read " + LATEST + ": " + e.getMessage(), e);
    }
  }

  /** Loads one checkpoint directory; a missing or corrupt file is named. */
  public Loaded load(Path dir) {
    JsonNode state;
    try {
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(new Path(dir, STATE))) {
        throw new CheckpointException(dir + ": no " + STATE + ": not a complete SparkGPT checkpoint");
      }
      try (InputStream in = fs.open(new Path(dir, STATE))) {
        state = JsonFiles.MAPPER.readTree(in);
      }
    } catch (IOException e) {
      throw new CheckpointException(dir + "/" + STATE + ": unreadable (" + e.getMessage() + ")", e);
    }
    if (state.path("format_version").asInt() != FORMAT_VERSION) {
      throw new CheckpointException(dir + "/" + STATE + ": format_version " + state.path("format_version")
          + ", expected " + FORMAT_VERSION);
    }
    return new Loaded(dir, state.path("step").asLong(), readAll(new Path(dir, WEIGHTS)),
        readAll(new Path(dir, OPTIMIZER)), state);
  }

  private Map<String, INDArray> readAll(Path file) {
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
