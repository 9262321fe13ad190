package dev.sparkgpt.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The eval reports of a run directory: {@code eval/*.json} (file name order) and then {@code report.json}, each
 * {@code {"tasks": {"<task>": {"n", "acc", "acc_norm", "acc_stderr", ...}}, "perplexity": {"<data>": {"tokens",
 * "perplexity", "bits_per_byte", ...}}, "checkpoint": {"step": N}}}.
 */
final class EvalReports {
  static final String EVAL_DIR = "eval";
  static final String REPORT_FILE = "report.json";
  private static final Pattern STEP_ID = Pattern.compile("step-0*(\\d+)");

  private EvalReports() {}

  /** What the reports hold: task accuracies and perplexities, each once per task (data) and step. */
  record Points(List<EvalPoint> tasks, List<PerplexityPoint> perplexity) {}

  /** The report files present, in reading order. */
  static List<Path> find(Path runDir, FileSystem fs) throws IOException {
    List<Path> files = new ArrayList<>();
    Path evalDir = new Path(runDir, EVAL_DIR);
    if (fs.exists(evalDir) && fs.getFileStatus(evalDir).isDirectory()) {
      FileStatus[] listed = fs.listStatus(evalDir, p -> p.getName().endsWith(".json"));
      Arrays.sort(listed, Comparator.comparing(s -> s.getPath().getName()));
      for (FileStatus s : listed) {
        if (s.isFile()) {
          files.add(new Path(evalDir, s.getPath().getName())); // as the user wrote the run dir, no scheme added
        }
      }
    }
    Path report = new Path(runDir, REPORT_FILE);
    if (fs.exists(report) && fs.getFileStatus(report).isFile()) {
      files.add(report);
    }
    return files;
  }

  /**
   * Every task and perplexity of every file as points; one task (data source) at one step appears once (the file
   * read later wins). A report without a step (neither checkpoint.step nor a checkpoint.id like step-000500) gives
   * points with a null step and a warning, since it has no place on a step axis.
   */
  static Points read(List<Path> files, String relativeTo, FileSystem fs, List<String> warnings) {
    Map<String, EvalPoint> byTaskAndStep = new LinkedHashMap<>();
    Map<String, PerplexityPoint> byDataAndStep = new LinkedHashMap<>();
    for (Path file : files) {
      String name = relative(file, relativeTo);
      JsonNode doc = readJson(file, fs);
      JsonNode tasks = doc.get("tasks");
      if ((tasks == null || !tasks.isObject()) && isHarnessResults(doc)) {
        continue; // lm-eval's results_<date>.json, written beside the eval report it repeats
      }
      if (tasks == null || !tasks.isObject()) {
        throw new InputException(file + ": no \"tasks\" object; an eval report is {\"tasks\": {\"<task>\": {\"acc\":"
            + " ...}}, \"checkpoint\": {\"step\": N}}. Fix: move files that are not sparkgpt eval reports out of "
            + EVAL_DIR + "/");
      }
      Long step = stepOf(doc.path("checkpoint"));
      if (step == null) {
        warnings.add(name + ": no checkpoint step; its accuracies are left out of the eval chart");
      }
      tasks.fields().forEachRemaining(t -> {
        JsonNode m = t.getValue();
        EvalPoint p = new EvalPoint(t.getKey(), step, name, longOrNull(m.get("n")), doubleOrNull(m.get("acc")),
            doubleOrNull(m.get("acc_norm")), doubleOrNull(m.get("acc_stderr")));
        String key = t.getKey() + "\u0000" + (step == null ? name : step.toString());
        byTaskAndStep.remove(key);
        byTaskAndStep.put(key, p);
      });
      doc.path("perplexity").fields().forEachRemaining(d -> {
        Double perplexity = doubleOrNull(d.getValue().get("perplexity"));
        if (perplexity != null) {
          String key = d.getKey() + "\u0000" + (step == null ? name : step.toString());
          byDataAndStep.remove(key);
          byDataAndStep.put(key, new PerplexityPoint(d.getKey(), step, name, longOrNull(d.getValue().get("tokens")),
              perplexity, doubleOrNull(d.getValue().get("bits_per_byte"))));
        }
      });
    }
    return new Points(List.copyOf(byTaskAndStep.values()), List.copyOf(byDataAndStep.values()));
  }

  /** lm-evaluation-harness's own results file ({"results": {...}, "n-shot": ..., "config": ...}). */
  private static boolean isHarnessResults(JsonNode doc) {
    return doc.path("results").isObject() && doc.has("n-shot") && doc.has("config");
  }

  private static JsonNode readJson(Path file, FileSystem fs) {
    try (InputStream in = fs.open(file)) {
      JsonNode doc = JsonFiles.MAPPER.readTree(in);
      if (doc == null || !doc.isObject()) {
        throw new InputException(file + ": expected a JSON object. Fix: an eval report is the report.json "
            + "that sparkgpt eval --out writes");
      }
      return doc;
    } catch (JsonProcessingException e) {
      throw new InputException(file + ": malformed JSON (" + e.getOriginalMessage() + ")", e);
    } catch (IOException e) {
      throw new InputException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static Long stepOf(JsonNode checkpoint) {
    JsonNode step = checkpoint.get("step");
    if (step != null && step.canConvertToExactIntegral()) {
      return step.asLong();
    }
    JsonNode id = checkpoint.get("id");
    if (id != null && id.isTextual()) {
      Matcher m = STEP_ID.matcher(id.asText());
      if (m.matches()) {
        return Long.parseLong(m.group(1));
      }
    }
    return null;
  }

  private static Double doubleOrNull(JsonNode v) {
    return v != null && v.isNumber() && Double.isFinite(v.doubleValue()) ? v.doubleValue() : null;
  }

  private static Long longOrNull(JsonNode v) {
    return v != null && v.canConvertToExactIntegral() ? v.asLong() : null;
  }

  static String relative(Path file, String runDir) {
    String full = file.toUri().getPath();
    String base = new Path(runDir).toUri().getPath();
    return full.startsWith(base + "/") ? full.substring(base.length() + 1) : file.getName();
  }
}
