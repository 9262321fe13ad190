package dev.sparkgpt.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
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
 * Labelled texts for classification: read (tsv "label TAB text" as the UCI SMS Spam Collection, csv with a header, or
 * jsonl), checked (every label known, no empty text — each problem named with file and line), optionally balanced by
 * undersampling, and split train/val/test in a seeded order. Deterministic: the same file and seed give the same
 * splits on any machine.
 */
public final class LabelledExamples {
  /** One example: its class id (index into the labels), text, and line in the file (1-based). */
  public record Example(int label, String text, int line) implements java.io.Serializable {}

  /** The three splits. */
  public record Splits(List<Example> train, List<Example> val, List<Example> test) {}

  private LabelledExamples() {}

  /** Reads {@code data.path()} as configured. */
  public static List<Example> read(ClassifyConfig.Data data, Configuration conf) {
    Path path = new Path(data.path());
    List<String> lines = new ArrayList<>();
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException("data.path: " + data.path() + ": file not found. Fix: point data.path at the "
            + "labelled file (e.g. src/main/resources/data/finetune/SMSSpamCollection)");
      }
      try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          lines.add(line);
        }
      }
    } catch (IOException e) {
      throw new InputException(data.path() + ": cannot read: " + e.getMessage(), e);
    }
    List<Example> examples = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    int unknownCount = 0;
    CsvParser csv = null;
    int textColumn = -1;
    int labelColumn = -1;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int number = i + 1;
      if (line.isBlank()) {
        continue;
      }
      String label;
      String text;
      switch (data.format()) {
        case "tsv" -> {
          int tab = line.indexOf('\t');
          if (tab < 0) {
            throw new InputException(data.path() + " line " + number + ": no TAB between label and text. Fix: "
                + "write 'label<TAB>text' per line, or set data.format to csv or jsonl");
          }
          label = line.substring(0, tab).strip();
          text = line.substring(tab + 1);
        }
        case "csv" -> {
          if (csv == null) {
            CsvParserSettings settings = new CsvParserSettings();
            settings.setMaxCharsPerColumn(-1);
            csv = new CsvParser(settings);
            List<String> header = Arrays.asList(csv.parseLine(line));
            textColumn = header.indexOf(data.textField());
            labelColumn = header.indexOf(data.labelField());
            if (textColumn < 0 || labelColumn < 0) {
              throw new InputException(data.path() + " line 1: the header " + header + " has no column '"
                  + (textColumn < 0 ? data.textField() : data.labelField()) + "'. Fix: set data.text_field / "
                  + "data.label_field to the header's names");
            }
            continue;
          }
          String[] row = csv.parseLine(line);
          if (row == null || row.length <= Math.max(textColumn, labelColumn)) {
            throw new InputException(data.path() + " line " + number + ": fewer columns than the header");
          }
          label = row[labelColumn] == null ? "" : row[labelColumn].strip();
          text = row[textColumn] == null ? "" : row[textColumn];
        }
        default -> {
          JsonNode node;
          try {
            node = JsonFiles.MAPPER.readTree(line);
          } catch (IOException e) {
            throw new InputException(data.path() + " line " + number + ": not valid JSON (" + e.getMessage()
                + ")");
          }
          if (!node.hasNonNull(data.textField()) || !node.hasNonNull(data.labelField())) {
            throw new InputException(data.path() + " line " + number + ": no '" + (node.hasNonNull(data.textField())
                ? data.labelField() : data.textField()) + "' field. Fix: set data.text_field / data.label_field");
          }
          label = node.get(data.labelField()).asText().strip();
          text = node.get(data.textField()).asText();
        }
      }
      int id = data.labels().indexOf(label);
      if (id < 0) {
        if (unknown.size() < 5) {
          unknown.add("line " + number + ": '" + label + "'");
        }
        unknownCount++;
        continue;
      }
      if (text.isBlank()) {
        throw new InputException(data.path() + " line " + number + ": empty text. Fix: remove the line or give it "
            + "text");
      }
      examples.add(new Example(id, text, number));
    }
    if (unknownCount > 0) {
      throw new InputException(data.path() + ": " + unknownCount + " label(s) not in data.labels " + data.labels()
          + ": " + String.join(", ", unknown) + (unknownCount > unknown.size() ? ", …" : "") + ". Fix: add them to "
          + "data.labels or correct the file");
    }
    if (examples.isEmpty()) {
      throw new InputException(data.path() + ": no examples. Fix: point data.path at a labelled file");
    }
    return examples;
  }

  /**
   * Balances (when asked: every label undersampled to the rarest label's count, a seeded choice), shuffles with
   * {@code seed} and cuts train / val / test by the configured fractions.
   */
  public static Splits split(List<Example> examples, ClassifyConfig.Data data, long seed) {
    Random random = new Random(seed);
    List<Example> chosen = new ArrayList<>();
    if (data.balance()) {
      List<List<Example>> byLabel = new ArrayList<>();
      for (int i = 0; i < data.labels().size(); i++) {
        byLabel.add(new ArrayList<>());
      }
      examples.forEach(e -> byLabel.get(e.label()).add(e));
      int rarest = byLabel.stream().mapToInt(List::size).min().orElse(0);
      if (rarest == 0) {
        throw new InputException(data.path() + ": no example of a label in " + data.labels() + " to balance with. "
            + "Fix: set data.balance: false or remove the unused label");
      }
      for (List<Example> group : byLabel) {
        Collections.shuffle(group, random);
        chosen.addAll(group.subList(0, rarest));
      }
    } else {
      chosen.addAll(examples);
    }
    Collections.shuffle(chosen, random);
    int train = (int) Math.round(chosen.size() * data.trainFraction());
    int val = (int) Math.round(chosen.size() * data.valFraction());
    if (train < 1 || train + val >= chosen.size()) {
      throw new InputException(data.path() + ": " + chosen.size() + " examples are too few for a train/val/test split "
          + "at " + data.trainFraction() + "/" + data.valFraction() + ". Fix: more data or other fractions");
    }
    return new Splits(List.copyOf(chosen.subList(0, train)), List.copyOf(chosen.subList(train, train + val)),
        List.copyOf(chosen.subList(train + val, chosen.size())));
  }
}
