package dev.sparkgpt.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Alpaca-style entries {instruction, input, output}: read (a JSON array, as the book's file, or JSONL) and checked
 * (entry index + field named), split train/val/test in a seeded order, encoded with an instruction template and
 * collated as the book's custom_collate_fn: prompt + response + end-of-text, padded with end-of-text, targets shifted
 * by one with every padding token after the first one ignored (-100), optionally the prompt's targets ignored too.
 */
public final class InstructionExamples {
  /** One entry (input may be empty) and its position in the file (0-based). */
  public record Entry(String instruction, String input, String output, int index) {}

  /** The three splits. */
  public record Splits(List<Entry> train, List<Entry> val, List<Entry> test) {}

  /** An entry as ids: prompt + response + end-of-text (truncated), and how many leading ids are the prompt. */
  public record Encoded(int[] ids, int promptLength) {}

  private InstructionExamples() {}

  public static List<Entry> read(String file, Configuration conf) {
    Path path = new Path(file);
    String text;
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException("data.path: " + file + ": file not found. Fix: point data.path at an Alpaca-style "
            + "JSON file (e.g. src/main/resources/data/finetune/instruction-data.json)");
      }
      try (InputStream in = fs.open(path)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new InputException(file + ": cannot read: " + e.getMessage(), e);
    }
    List<JsonNode> nodes = new ArrayList<>();
    try {
      if (text.stripLeading().startsWith("[")) {
        JsonFiles.MAPPER.readTree(text).forEach(nodes::add);
      } else {
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
          if (!lines[i].isBlank()) {
            try {
              nodes.add(JsonFiles.MAPPER.readTree(lines[i]));
            } catch (IOException e) {
              throw new InputException(file + " line " + (i + 1) + ": not valid JSON. Fix: one {\"instruction\", "
                  + "\"input\", \"output\"} object per line, or a JSON array");
            }
          }
        }
      }
    } catch (IOException e) {
      throw new InputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
    }
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      JsonNode n = nodes.get(i);
      for (String field : List.of("instruction", "output")) {
        if (!n.path(field).isTextual() || n.path(field).asText().isBlank()) {
          throw new InputException(file + ": entry " + i + ": missing or empty field '" + field + "'. Fix: every "
              + "entry needs instruction and output (input may be empty)");
        }
      }
      if (n.has("input") && !n.get("input").isTextual() && !n.get("input").isNull()) {
        throw new InputException(file + ": entry " + i + ": field 'input' is not a string");
      }
      entries.add(new Entry(n.get("instruction").asText(), n.path("input").asText(""), n.get("output").asText(), i));
    }
    if (entries.isEmpty()) {
      throw new InputException(file + ": no entries. Fix: point data.path at an Alpaca-style file");
    }
    return entries;
  }

  /** A seeded shuffle cut by the configured fractions (the rest is the test split). */
  public static Splits split(List<Entry> entries, InstructConfig.Data data, long seed) {
    List<Entry> order = new ArrayList<>(entries);
    Collections.shuffle(order, new Random(seed));
    int train = (int) Math.round(order.size() * data.trainFraction());
    int val = (int) Math.round(order.size() * data.valFraction());
    if (train < 1 || train + val >= order.size()) {
      throw new InputException(data.path() + ": " + order.size() + " entries are too few for a train/val/test split");
    }
    return new Splits(List.copyOf(order.subList(0, train)), List.copyOf(order.subList(train, train + val)),
        List.copyOf(order.subList(train + val, order.size())));
  }

  /** prompt + output + end-of-text, truncated to {@code maxLength} + 1 ids (inputs and targets are one shorter). */
  public static Encoded encode(Entry e, InstructionTemplate template, Tokenizer tok, int maxLength, int[] truncated) {
    String prompt = template.format(e.instruction(), e.input());
    int[] promptIds = tok.encode(prompt);
    int[] full = tok.encode(prompt + e.output());
    int[] ids = Arrays.copyOf(full, full.length + 1);
    ids[full.length] = tok.eotId();
    if (ids.length > maxLength + 1) {
      truncated[0]++;
      ids = Arrays.copyOf(ids, maxLength + 1);
    }
    int shared = 0;
    while (shared < promptIds.length && shared < full.length && promptIds[shared] == full[shared]) {
      shared++;
    }
    return new Encoded(ids, Math.min(shared, ids.length));
  }

  /**
   * The book's collate: each sequence padded with {@code pad} to the batch's longest; inputs = ids[:-1], targets =
   * ids[1:]; in the targets every {@code pad} after the first of a row becomes -100 (the first teaches the model to
   * stop); with {@code maskPrompt}, the targets that predict prompt tokens are -100 as well.
   */
  public static TokenBatch collate(List<Encoded> rows, int pad, boolean maskPrompt) {
    int width = 0;
    for (Encoded r : rows) {
      width = Math.max(width, r.ids().length - 1);
    }
    int[][] inputs = new int[rows.size()][width];
    int[][] targets = new int[rows.size()][width];
    for (int b = 0; b < rows.size(); b++) {
      int[] padded = Arrays.copyOf(rows.get(b).ids(), width + 1);
      Arrays.fill(padded, rows.get(b).ids().length, width + 1, pad);
      System.arraycopy(padded, 0, inputs[b], 0, width);
      System.arraycopy(padded, 1, targets[b], 0, width);
      boolean seenPad = false;
      for (int t = 0; t < width; t++) {
        if (targets[b][t] == pad) {
          if (seenPad) {
            targets[b][t] = TokenBatch.IGNORE_INDEX;
          }
          seenPad = true;
        }
      }
      if (maskPrompt) {
        for (int t = 0; t < Math.min(width, rows.get(b).promptLength() - 1); t++) {
          targets[b][t] = TokenBatch.IGNORE_INDEX;
        }
      }
    }
    return new TokenBatch(inputs, targets);
  }
}
