package dev.sparkgpt.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.io.InputException;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads the documents of one .txt(.gz) or .jsonl(.gz) file on an executor. Document ids are
 * {@code fileIndex << 32 | n}, so they follow the sorted input order whatever the cluster.
 */
public final class DocumentReader {
  private static final ObjectMapper JSON = new ObjectMapper();

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
    Path path = new Path(file.path());
    try (InputStream raw = open(path, conf); InputStream in = file.gzip() ? gunzip(raw, file) : raw) {
      switch (file.format()) {
        case "txt" -> readText(file, in, docSeparator, observer, sink);
        case "jsonl" -> readJsonLines(file, in, textField, sink);
        default -> throw new IllegalArgumentException("not a text format: " + file.format());
      }
    } catch (ZipException | java.io.EOFException e) {
      throw new InputException(file.path() + ": unreadable gzip data (" + e.getMessage()
          + "). Fix: re-compress the file or remove it from the input", e);
    } catch (IOException e) {
      throw new InputException(file.path() + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Convenience for tests and the driver: all documents of one file in a list. */
  public static List<Document> readAll(SourceFile file, String textField, String docSeparator, Configuration conf) {
    List<Document> docs = new ArrayList<>();
    read(file, textField, docSeparator, conf, p -> { }, docs::add);
    return docs;
  }

  private static InputStream open(Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    return fs.open(path);
  }

  private static InputStream gunzip(InputStream raw, SourceFile file) throws IOException {
    try {
      return new GZIPInputStream(raw, 1 << 16);
    } catch (ZipException | java.io.EOFException e) {
      raw.close();
      throw e;
    }
  }

  private static void readText(SourceFile file, InputStream in, String separator, Observer observer,
      Consumer<Document> sink) throws IOException {
    long base = ((long) file.index()) << 32;
    if (separator == null) {
      byte[] bytes = readFully(in);
      sink.accept(new Document(base, decodeUtf8(bytes, file.path(), observer)));
      return;
    }
    // Line by line: a line equal to the separator (ignoring a trailing \r) ends the current document.
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, replacingDecoder()), 1 << 16);
    StringBuilder doc = new StringBuilder();
    long n = 0;
    String line;
    boolean first = true;
    while ((line = reader.readLine()) != null) {
      String bare = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
      if (bare.equals(separator)) {
        sink.accept(new Document(base | n++, doc.toString()));
        doc.setLength(0);
        first = true;
        continue;
      }
      if (!first) {
        doc.append('\n');
      }
      doc.append(line);
      first = false;
    }
    if (doc.length() > 0) {
      sink.accept(new Document(base | n, doc.toString()));
    }
  }

  private static void readJsonLines(SourceFile file, InputStream in, String field, Consumer<Document> sink)
      throws IOException {
    long base = ((long) file.index()) << 32;
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, replacingDecoder()), 1 << 16);
    String line;
    long lineNo = 0;
    long n = 0;
    while ((line = reader.readLine()) != null) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (JsonProcessingException e) {
        throw new InputException(file.path() + ":" + lineNo + ": invalid JSON (" + e.getOriginalMessage()
            + "). Fix: make every line one JSON object");
      }
      if (node == null || !node.isObject()) {
        throw new InputException(file.path() + ":" + lineNo + ": expected a JSON object per line");
      }
      JsonNode text = node.get(field);
      if (text == null || text.isNull()) {
        List<String> present = new ArrayList<>();
        node.fieldNames().forEachRemaining(present::add);
        throw new InputException(file.path() + ":" + lineNo + ": no field \"" + field + "\" (fields present: "
            + present + "). Fix: set text_field to the field holding the text");
      }
      if (!text.isTextual()) {
        throw new InputException(file.path() + ":" + lineNo + ": field \"" + field + "\" is " + text.getNodeType()
            + ", expected a string");
      }
      sink.accept(new Document(base | n++, text.asText()));
    }
  }

  private static byte[] readFully(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
    in.transferTo(out);
    return out.toByteArray();
  }

  private static CharsetDecoder replacingDecoder() {
    return StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPLACE)
        .onUnmappableCharacter(CodingErrorAction.REPLACE);
  }

  /** Strict decode first (the common case, and it tells us whether anything was replaced), then a replacing one. */
  static String decodeUtf8(byte[] bytes, String path, Observer observer) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      observer.invalidUtf8(path);
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /** Normalises newlines (\r\n and lone \r → \n). */
  public static String normalizeNewlines(String text) {
    if (text.indexOf('\r') < 0) {
      return text;
    }
    return text.replace("\r\n", "\n").replace('\r', '\n');
  }

}
