package dev.sparkgpt.data;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;

/**
 * Reads the documents of one .txt or .jsonl file (optionally compressed) whole, through {@link SplitReader}.
 * Document ids are {@code fileIndex << 32 | n}, so they follow the sorted input order whatever the cluster.
 */
public final class DocumentReader {
  private DocumentReader() {}

  /** One document: a stable id and its text. */
  public record Document(long docId, String text) implements java.io.Serializable {}

  /** Counts what reading found besides documents (invalid UTF-8 bytes are replaced by U+FFFD and counted). */
  public interface Observer {
    void invalidUtf8(String path);
  }

  /**
   * Reads every document of {@code file}. {@code docSeparator} (txt only) is a line that ends one document;
   * null makes the whole file one document. Errors name the file (and the line for JSONL).
   */
  public static void read(SourceFile file, String textField, String docSeparator, Configuration conf,
      Observer observer, Consumer<Document> sink) {
    long base = ((long) file.index()) << 32;
    StringBuilder text = new StringBuilder();
    long[] n = new long[1];
    SplitReader.Options options = new SplitReader.Options(textField, docSeparator, false, 1 << 29, 1 << 29);
    SplitReader.Stats stats = SplitReader.read(new InputSplit(file, 0, 0, file.bytes()), options, conf,
        new SplitReader.Sink() {
          @Override
          public void begin(long key, int ordinal, boolean continues) {
            text.setLength(0);
          }

          @Override
          public void text(String piece) {
            text.append(piece);
          }

          @Override
          public void end(boolean complete) {
            sink.accept(new Document(base | n[0]++, text.toString()));
          }
        });
    if (stats.replacedBytes > 0) {
      observer.invalidUtf8(file.path());
    }
  }

  /** Convenience for tests and the driver: all documents of one file in a list. */
  public static List<Document> readAll(SourceFile file, String textField, String docSeparator, Configuration conf) {
    List<Document> docs = new ArrayList<>();
    read(file, textField, docSeparator, conf, p -> { }, docs::add);
    return docs;
  }

  /** Normalises newlines (\r\n and lone \r → \n). */
  public static String normalizeNewlines(String text) {
    if (text.indexOf('\r') < 0) {
      return text;
    }
    return text.replace("\r\n", "\n").replace('\r', '\n');
  }

}
