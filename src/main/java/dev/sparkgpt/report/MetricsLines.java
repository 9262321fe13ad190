package dev.sparkgpt.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * metrics.jsonl read into tables (docs/metrics-format.md): lines with {@code step} into the step table, lines with
 * {@code epoch} and no step into the epoch table. A malformed last line is a crashed run's unfinished write: it is
 * skipped and counted. Any other malformed line, or a known key holding a non-number, fails with file and line.
 *
 * @param steps training lines merged by step
 * @param epochs finetune epoch lines merged by epoch
 * @param events how many lines carried each {@code event} value, in first-seen order
 * @param lines non-blank lines read, skipped ones included
 * @param skipped the line number of the skipped unfinished last line, or 0
 * @param nonFinite known values that were NaN or ±Infinity and so left out (JSON null is just absent)
 */
public record MetricsLines(MetricsTable steps, MetricsTable epochs, Map<String, Integer> events, int lines,
    int skipped, int nonFinite) {
  public static final String STEP = "step";
  public static final String EPOCH = "epoch";
  public static final String EVENT = "event";
  /** The keys read as numbers; every other key is ignored. */
  public static final Set<String> NUMERIC_KEYS = Set.of(STEP, "tokens_seen", "train_loss", "val_loss", "lr",
      "grad_norm", "tokens_per_sec", "mfu", "elapsed_s", "workers", "round", "averaging_ms", "broadcast_ms",
      "compute_ms", EPOCH, "train_acc", "val_acc", "test_acc");

  // Python's json.dumps writes NaN and Infinity bare; a line glued to the next by a crash must not half-parse
  private static final ObjectReader READER = JsonFiles.MAPPER.reader()
      .with(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
      .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Reads {@code file}; a missing file is the caller's concern. */
  public static MetricsLines read(Path file, FileSystem fs) {
    Parser parser = new Parser(file.toString());
    try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        parser.accept(line);
      }
    } catch (IOException e) {
      throw new InputException(file + ": cannot read: " + e.getMessage(), e);
    }
    return parser.finish();
  }

  /** Parses the lines of a metrics.jsonl named {@code name} in messages (for tests and in-memory logs). */
  public static MetricsLines parse(String name, List<String> lines) {
    Parser parser = new Parser(name);
    lines.forEach(parser::accept);
    return parser.finish();
  }

  /** Reads line by line; a bad line is held until another non-blank line shows it was not the last one. */
  private static final class Parser {
    private final String name;
    private final MetricsTable steps = new MetricsTable(STEP);
    private final MetricsTable epochs = new MetricsTable(EPOCH);
    private final Map<String, Integer> events = new LinkedHashMap<>();
    private int lineNumber;
    private int lines;
    private int nonFinite;
    private InputException pending;
    private int pendingLine;

    Parser(String name) {
      this.name = name;
    }

    void accept(String text) {
      lineNumber++;
      if (text.isBlank()) {
        return;
      }
      if (pending != null) {
        throw pending;
      }
      lines++;
      JsonNode node;
      try {
        node = READER.readTree(text);
      } catch (JsonProcessingException e) {
        pending = new InputException(name + ":" + lineNumber + ": malformed JSON (" + e.getOriginalMessage()
            + "). Fix: repair or delete line " + lineNumber + "; only an unfinished last line is skipped", e);
        pendingLine = lineNumber;
        return;
      }
      if (node == null || !node.isObject()) {
        throw new InputException(name + ":" + lineNumber + ": expected a JSON object, found "
            + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()) + ". Fix: each line of "
            + "metrics.jsonl is one {...} object (docs/metrics-format.md)");
      }
      addLine(node);
    }

    private void addLine(JsonNode node) {
      Map<String, Double> values = new LinkedHashMap<>();
      node.fields().forEachRemaining(field -> {
        if (NUMERIC_KEYS.contains(field.getKey())) {
          Double v = number(field.getKey(), field.getValue());
          if (v != null && Double.isFinite(v)) {
            values.put(field.getKey(), v);
          } else if (v != null) {
            nonFinite++;
          }
        }
      });
      Double step = values.get(STEP);
      if (step != null && (step < 0 || step != Math.rint(step))) {
        throw new InputException(name + ":" + lineNumber + ": \"step\" is " + node.get(STEP) + ", expected a "
            + "whole number ≥ 0. Fix: repair line " + lineNumber);
      }
      JsonNode event = node.get(EVENT);
      if (event != null && event.isValueNode() && !event.isNull()) {
        events.merge(event.asText(), 1, Integer::sum);
      }
      if (step != null) {
        steps.merge(values);
      } else if (values.containsKey(EPOCH)) {
        epochs.merge(values);
      }
    }

    /** The value of a known key: a number (NaN or ±Infinity included), or null for JSON null; else it fails. */
    private Double number(String key, JsonNode value) {
      if (value.isNull()) {
        return null;
      }
      double d;
      if (value.isNumber()) {
        d = value.doubleValue();
      } else if (value.isTextual() && Set.of("NaN", "Infinity", "-Infinity").contains(value.asText())) {
        d = Double.NaN; // Jackson quotes non-finite numbers by default
      } else {
        throw new InputException(name + ":" + lineNumber + ": \"" + key + "\" is " + value + ", expected a number."
            + " Fix: repair line " + lineNumber + " (docs/metrics-format.md lists the keys and their types)");
      }
      return d;
    }

    MetricsLines finish() {
      return new MetricsLines(steps, epochs, events, lines, pending == null ? 0 : pendingLine, nonFinite);
    }
  }
}
