package dev.sparkgpt.train;

import dev.sparkgpt.io.AtomicFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code metrics.jsonl} of a run (docs/metrics-format.md): one JSON object per line, flushed as written. On resume
 * the lines past the checkpoint's step are dropped, so the file never shows a step twice.
 */
public final class MetricsLog implements AutoCloseable {
  public static final String FILE = "metrics.jsonl";
  private final FSDataOutputStream out;

  private MetricsLog(FSDataOutputStream out) {
    this.out = out;
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
      return new MetricsLog(out);
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

  /** Appends one line (keys as given; values JSON-serialisable) and flushes it. */
  public void write(Map<String, Object> line) {
    try {
      out.write(JsonFiles.line(line).getBytes(StandardCharsets.UTF_8));
      out.hflush();
    } catch (IOException e) {
      throw new InputException(FILE + ": cannot write: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException ignored) {
      // every line was flushed when written
    }
  }
}
