package dev.sparkgpt.data;

import java.io.Serializable;
import java.util.Locale;

/**
 * One input file of the tokenize job: its Hadoop path, size, format and position in the sorted input list.
 * {@code gzip} is kept for readers of older code; {@link #compression()} names any codec (gz, zst, bz2, xz);
 * {@code sniffed}: the name gave no format and the content was recognised as text.
 */
public record SourceFile(String path, long bytes, String format, boolean gzip, int index, boolean sniffed)
    implements Serializable {
  /** A file whose format its name gave. */
  public SourceFile(String path, long bytes, String format, boolean gzip, int index) {
    this(path, bytes, format, gzip, index, false);
  }

  /** Compression suffixes read as streams (one task per file; they cannot be split by byte range). */
  public static final java.util.List<String> CODECS = java.util.List.of("gz", "zst", "bz2", "xz");

  /** Formats recognised by extension when format is "auto"; null when the name does not say. */
  public static String formatOf(String name) {
    String n = stripCodec(name.toLowerCase(Locale.ROOT));
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

  /** The compression codec named by the file's suffix (gz, zst, bz2, xz), or null. */
  public static String codecOf(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    for (String c : CODECS) {
      if (n.endsWith("." + c)) {
        return c;
      }
    }
    return null;
  }

  /** This file's compression codec, or null. */
  public String compression() {
    return codecOf(path);
  }

  private static String stripCodec(String n) {
    String codec = codecOf(n);
    return codec == null ? n : n.substring(0, n.length() - codec.length() - 1);
  }
}
