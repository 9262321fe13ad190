package dev.sparkgpt.data;

import java.io.Serializable;

/** One input file of the tokenize job: its Hadoop path, size, format and position in the sorted input list. */
public record SourceFile(String path, long bytes, String format, boolean gzip, int index) implements Serializable {
  /** Formats recognised by extension when format is "auto". */
  public static String formatOf(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    if (n.endsWith(".gz")) {
      n = n.substring(0, n.length() - 3);
    }
    if (n.endsWith(".jsonl") || n.endsWith(".json") || n.endsWith(".ndjson")) {
      return "jsonl";
    }
    if (n.endsWith(".parquet")) {
      return "parquet";
    }
    if (n.endsWith(".txt") || n.endsWith(".text") || n.endsWith(".md")) {
      return "txt";
    }
    return null;
  }
}
