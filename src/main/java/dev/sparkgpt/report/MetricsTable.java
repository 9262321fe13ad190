package dev.sparkgpt.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * The lines of metrics.jsonl that share an index key ({@code step} for training lines, {@code epoch} for finetune
 * epoch lines), merged into one row per index value and kept in index order. Lines with the same index merge key by
 * key, the later line winning, so a separate {@code "event": "eval"} line adds its val_loss to the step's row.
 * Every value is a finite number; a key a line lacks is simply absent from the row.
 */
public final class MetricsTable {
  private final String indexKey;
  private final TreeMap<Double, Map<String, Double>> rows = new TreeMap<>();

  MetricsTable(String indexKey) {
    this.indexKey = indexKey;
  }

  /** Merges one line's values into the row of {@code values.get(indexKey)}, which must be present. */
  void merge(Map<String, Double> values) {
    Double index = values.get(indexKey);
    if (index == null) {
      throw new IllegalArgumentException("a " + indexKey + " row without " + indexKey + ": " + values);
    }
    rows.computeIfAbsent(index, k -> new LinkedHashMap<>()).putAll(values);
  }

  /** The key rows are indexed by: step or epoch. */
  public String indexKey() {
    return indexKey;
  }

  public int size() {
    return rows.size();
  }

  public boolean isEmpty() {
    return rows.isEmpty();
  }

  /** The merged rows, in index order (read-only). */
  public List<Map<String, Double>> rows() {
    List<Map<String, Double>> list = new ArrayList<>();
    rows.values().forEach(r -> list.add(Collections.unmodifiableMap(r)));
    return list;
  }

  /** Whether any row holds {@code key}. */
  public boolean has(String key) {
    return rows.values().stream().anyMatch(r -> r.containsKey(key));
  }

  /** The points (row[xKey], row[yKey]) of the rows holding both, in index order, named {@code yKey}. */
  public Series series(String xKey, String yKey) {
    List<double[]> points = new ArrayList<>();
    for (Map<String, Double> row : rows.values()) {
      Double x = row.get(xKey);
      Double y = row.get(yKey);
      if (x != null && y != null) {
        points.add(new double[] {x, y});
      }
    }
    double[] xs = new double[points.size()];
    double[] ys = new double[points.size()];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = points.get(i)[0];
      ys[i] = points.get(i)[1];
    }
    return new Series(yKey, xs, ys);
  }

  /** The row with the highest index that holds {@code key}. */
  public Optional<Map<String, Double>> lastWith(String key) {
    for (Map<String, Double> row : rows.descendingMap().values()) {
      if (row.containsKey(key)) {
        return Optional.of(Collections.unmodifiableMap(row));
      }
    }
    return Optional.empty();
  }

  /** The first row (lowest index) where {@code key} is smallest. */
  public Optional<Map<String, Double>> minBy(String key) {
    Map<String, Double> best = null;
    for (Map<String, Double> row : rows.values()) {
      Double v = row.get(key);
      if (v != null && (best == null || v < best.get(key))) {
        best = row;
      }
    }
    return Optional.ofNullable(best).map(Collections::unmodifiableMap);
  }

  /** The first row (lowest index) where {@code key} is largest. */
  public Optional<Map<String, Double>> maxBy(String key) {
    Map<String, Double> best = null;
    for (Map<String, Double> row : rows.values()) {
      Double v = row.get(key);
      if (v != null && (best == null || v > best.get(key))) {
        best = row;
      }
    }
    return Optional.ofNullable(best).map(Collections::unmodifiableMap);
  }

  /** The mean of {@code key} over the rows holding it. */
  public OptionalDouble mean(String key) {
    return rows.values().stream().filter(r -> r.containsKey(key)).mapToDouble(r -> r.get(key)).average();
  }

  /** How many rows hold {@code key}. */
  public int count(String key) {
    return (int) rows.values().stream().filter(r -> r.containsKey(key)).count();
  }
}
