package dev.sparkgpt.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * confusion.json of a classification finetune: {@code {"labels": [...], "matrix": [[...], ...]}}, where
 * {@code matrix[i][j]} counts examples whose true label is {@code labels[i]} and predicted label {@code labels[j]}.
 *
 * @param labels class names, at least one
 * @param counts a square matrix of non-negative counts, one row and one column per label
 */
public record ConfusionMatrix(List<String> labels, long[][] counts) {
  public static final String FILE = "confusion.json";

  /** Examples counted. */
  public long total() {
    long sum = 0;
    for (long[] row : counts) {
      for (long c : row) {
        sum += c;
      }
    }
    return sum;
  }

  /** Examples on the diagonal: predicted as their true label. */
  public long correct() {
    long sum = 0;
    for (int i = 0; i < counts.length; i++) {
      sum += counts[i][i];
    }
    return sum;
  }

  /** Reads and checks {@code file}: labels are strings, the matrix is square with their count, counts are whole. */
  public static ConfusionMatrix read(Path file, FileSystem fs) {
    JsonNode doc;
    try (InputStream in = fs.open(file)) {
      doc = JsonFiles.MAPPER.readTree(in);
    } catch (JsonProcessingException e) {
      throw new InputException(file + ": malformed JSON (" + e.getOriginalMessage() + ")", e);
    } catch (IOException e) {
      throw new InputException(file + ": cannot read: " + e.getMessage(), e);
    }
    String expected = ". Fix: write {\"labels\": [\"ham\", \"spam\"], \"matrix\": [[tn, fp], [fn, tp]]} (rows = true"
        + " label, columns = predicted)";
    JsonNode labelsNode = doc == null ? null : doc.get("labels");
    JsonNode matrixNode = doc == null ? null : doc.get("matrix");
    if (labelsNode == null || !labelsNode.isArray() || labelsNode.isEmpty()) {
      throw new InputException(file + ": \"labels\" is missing or not a non-empty array" + expected);
    }
    List<String> labels = new ArrayList<>();
    labelsNode.forEach(l -> labels.add(l.asText()));
    int k = labels.size();
    if (matrixNode == null || !matrixNode.isArray() || matrixNode.size() != k) {
      throw new InputException(file + ": \"matrix\" must have " + k + " rows, one per label, found "
          + (matrixNode == null || !matrixNode.isArray() ? "none" : matrixNode.size()) + expected);
    }
    long[][] counts = new long[k][k];
    for (int i = 0; i < k; i++) {
      JsonNode row = matrixNode.get(i);
      if (!row.isArray() || row.size() != k) {
        throw new InputException(file + ": matrix row " + i + " (true label \"" + labels.get(i) + "\") must have "
            + k + " counts, found " + (row.isArray() ? row.size() : row.getNodeType().toString().toLowerCase())
            + expected);
      }
      for (int j = 0; j < k; j++) {
        JsonNode c = row.get(j);
        if (!c.canConvertToExactIntegral() || c.asLong() < 0) {
          throw new InputException(file + ": matrix[" + i + "][" + j + "] is " + c + ", expected a count ≥ 0"
              + expected);
        }
        counts[i][j] = c.asLong();
      }
    }
    return new ConfusionMatrix(List.copyOf(labels), counts);
  }
}
