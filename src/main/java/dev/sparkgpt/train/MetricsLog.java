package dev.sparkgpt.train;

import dev.sparkgpt.io.AtomicFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.TensorBoardEvents;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code metrics.jsonl} of a run (docs/metrics-format.md): one JSON object per line, flushed as written. On resume
 * the lines past the checkpoint's step are dropped, so the file never shows a step twice. With
 * {@link #withTensorBoard} every line's numbers also go to a TensorBoard event file ({@link TensorBoardEvents}).
 */
public final class MetricsLog implements AutoCloseable {
  public static final String FILE = "metrics.jsonl";
  /** Keys that are a line's coordinates, not scalars of their own. */
  private static final Set<String> COORDINATES = Set.of("step", "epoch");
  private final FSDataOutputStream out;
  private final String outDir;
  private final Configuration conf;
  private TensorBoardEvents events;

  private MetricsLog(FSDataOutputStream out, String outDir, Configuration conf) {
    this.out = out;
    this.outDir = outDir;
    this.conf = conf;
  }

  /**
   * When {@code on} (train.tensorboard), also writes the lines to a new event file in {@code out_dir/tensorboard/},
   * which supersedes earlier files' points from {@code firstStep} (the first step this run trains) on.
   */
  public MetricsLog withTensorBoard(boolean on, long firstStep) {
    if (on && events == null) {
      try {
        events = TensorBoardEvents.open(outDir, firstStep, conf);
      } catch (RuntimeException e) {
        close(); // called inside a try-with-resources header, which would not close this log on a throw
        throw e;
      }
    }
    return this;
  }

  /** Opens {@code outDir/metrics.jsonl}, keeping only lines with {@code step ≤ keepUpToStep} (-1 = start afresh). */
  public static MetricsLog open(String outDir, long keepUpToStep, Configuration conf) {
    return open(outDir, line -> keepUpToStep >= 0 && line.path("step").asLong(Long.MAX_VALUE) <= keepUpToStep, conf);
  }

  /** Opens {@code outDir/metrics.jsonl}, keeping the existing lines {@code keep} accepts (a resumed run's past). */
  public static MetricsLog open(String outDir, java.util.function.Predicate<JsonNode> keep, Configuration conf) {
    Path file = new Path(outDir, FILE);
    try {
      FileSystem fs = file.getFileSystem(conf);
      List<String> kept = new ArrayList<>();
      if (fs.exists(file)) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            if (parse(line).filter(keep).isPresent()) {
              kept.add(line);
            }
          }
        }
      }
      fs.mkdirs(file.getParent());
      StringBuilder past = new StringBuilder();
      kept.forEach(line -> past.append(line).append('\n'));
      // the kept past replaces the file in one step (a crash here never loses it), then new lines are appended;
      // object stores cannot append, so there the file is rewritten and kept open (visible when closed)
      AtomicFiles.writeText(file, past.toString(), conf);
      FSDataOutputStream out;
      try {
        out = fs.append(file);
      } catch (UnsupportedOperationException | IOException e) {
        out = fs.create(file, true);
        out.write(past.toString().getBytes(StandardCharsets.UTF_8));
      }
      out.hflush();
      return new MetricsLog(out, outDir, conf);
    } catch (IOException e) {
      throw new InputException(file + ": cannot open metrics log: " + e.getMessage(), e);
    }
  }

  private static java.util.Optional<JsonNode> parse(String line) {
    try {
      return java.util.Optional.of(JsonFiles.MAPPER.readTree(line));
    } catch (JsonProcessingException e) {
      return java.util.Optional.empty(); // a line cut by a crash: drop it
    }
  }

  /**
   * Appends one line (keys as given; values JSON-serialisable) and flushes it; its numbers go to TensorBoard (if on)
   * at the line's {@code step}, under their own names. A line without a step (a finetune's epoch line) goes to
   * TensorBoard through {@link #write(Map, long, String)} only.
   */
  public void write(Map<String, Object> line) {
    if (events != null && line.get("step") instanceof Number step) {
      events.scalars(step.longValue(), "", line, COORDINATES);
    }
    append(line);
  }

  /** Appends one line as {@link #write(Map)} does; its numbers go to TensorBoard at {@code step} as {@code prefix + key}. */
  public void write(Map<String, Object> line, long step, String prefix) {
    if (events != null) {
      events.scalars(step, prefix, line, COORDINATES);
    }
    append(line);
  }

  private void append(Map<String, Object> line) {
    try {
      out.write(JsonFiles.line(line).getBytes(StandardCharsets.UTF_8));
      out.hflush();
    } catch (IOException e) {
      throw new InputException(FILE + ": cannot write: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (events != null) {
      events.close();
    }
    try {
      out.close();
    } catch (IOException ignored) {
      // every line was flushed when written
    }
  }
}
