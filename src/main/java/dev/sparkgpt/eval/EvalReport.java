package dev.sparkgpt.eval;

import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * report.json of an evaluation, the end of the flow text → shards → checkpoint → report: per-task metrics, per-data
 * perplexity, which checkpoint, the resolved config and when. Also rendered as Markdown tables for the console.
 *
 * @param tasks task name → metrics, in the order the tasks were given
 * @param perplexity data path → metrics, in the order given
 * @param checkpoint the checkpoint evaluated
 * @param config the resolved eval config
 * @param createdAt ISO-8601 UTC time the report was made
 */
public record EvalReport(Map<String, TaskResult> tasks, Map<String, PerplexityResult> perplexity,
    CheckpointInfo checkpoint, Map<String, Object> config, String createdAt) {

  /** The report as Markdown: one table for tasks, one for perplexity (each only when there are rows). */
  public String toMarkdown() {
    StringBuilder md = new StringBuilder();
    if (!tasks.isEmpty()) {
      md.append("| task | n | shots | acc | ± | acc_norm | ± | ppl | s |\n");
      md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
      tasks.forEach((name, r) -> md.append("| ").append(name).append(" | ").append(r.n()).append(" | ")
          .append(r.numFewshot()).append(" | ").append(number(r.acc())).append(" | ").append(number(r.accStderr()))
          .append(" | ").append(number(r.accNorm())).append(" | ").append(number(r.accNormStderr())).append(" | ")
          .append(number(r.perplexity())).append(" | ").append(format("%.1f", r.seconds())).append(" |\n"));
    }
    if (!perplexity.isEmpty()) {
      if (md.length() > 0) {
        md.append('\n');
      }
      md.append("| data | tokens | mean_nll | perplexity | bits_per_byte | s |\n");
      md.append("|---|--:|--:|--:|--:|--:|\n");
      perplexity.forEach((path, r) -> md.append("| ").append(path).append(r.split() == null ? "" : " (" + r.split()
          + ")").append(" | ").append(r.tokens()).append(" | ").append(number(r.meanNll())).append(" | ")
          .append(number(r.perplexity())).append(" | ").append(number(r.bitsPerByte())).append(" | ")
          .append(format("%.1f", r.seconds())).append(" |\n"));
    }
    return md.toString();
  }

  private static String number(Double value) {
    return value == null ? "–" : format("%.4f", value);
  }

  private static String format(String pattern, double value) {
    return String.format(Locale.ROOT, pattern, value);
  }

  /**
   * Writes the report to {@code path} (any Hadoop file system) atomically: into a hidden temporary file beside it,
   * then renamed over the target, so a reader finds the old report, none, or the whole new one; never a part.
   */
  public void write(String path, Configuration conf) {
    writeAtomically(path, JsonFiles.toJson(this).getBytes(StandardCharsets.UTF_8), conf);
  }

  /** Writes {@code bytes} to {@code path} the way {@link #write} writes a report (any eval output file). */
  public static void writeAtomically(String path, byte[] bytes, Configuration conf) {
    Path target = new Path(path);
    Path parent = target.getParent();
    Path temporary = new Path(parent == null ? target : parent,
        "." + target.getName() + ".tmp-" + UUID.randomUUID());
    FileSystem fs = null;
    try {
      fs = target.getFileSystem(conf);
      if (fs.exists(target) && fs.getFileStatus(target).isDirectory()) {
        throw new OutputException(path + ": is a directory. Fix: give --out a file name such as report.json");
      }
      if (parent != null) {
        fs.mkdirs(parent);
      }
      try (OutputStream out = fs.create(temporary, false)) {
        out.write(bytes);
      }
      if (fs.exists(target) && !fs.delete(target, false)) {
        throw new IOException("cannot replace the existing " + target);
      }
      if (!fs.rename(temporary, target)) {
        throw new IOException("rename " + temporary + " -> " + target + " failed");
      }
    } catch (IOException e) {
      deleteQuietly(fs, temporary);
      throw new OutputException(path + ": cannot write the report: " + e.getMessage()
          + ". Fix: check the path, permissions and free space", e);
    } catch (RuntimeException e) {
      deleteQuietly(fs, temporary);
      throw e;
    }
  }

  private static void deleteQuietly(FileSystem fs, Path file) {
    if (fs == null) {
      return;
    }
    try {
      fs.delete(file, false);
    } catch (IOException ignored) {
      // the name is hidden and unique: a leftover is never taken for a report
    }
  }
}
