package dev.sparkgpt.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * JSONL documents of one split: one JSON object per line, the text in {@code text_field} (a dotted path such as
 * {@code meta.body} reaches into nested objects). A line longer than 4 × max_doc_chars + 4096 chars is skipped
 * unread (counted), so one giant line cannot exhaust the heap; a text longer than max_doc_chars is cut to it.
 */
final class JsonLines {
  private JsonLines() {}

  static ObjectMapper mapper(int maxLineChars) {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Math.max(maxLineChars, 1 << 20))
            .build())
        .build();
    return new ObjectMapper(factory);
  }

  static int maxLineChars(int maxDocChars) {
    return (int) Math.min(Integer.MAX_VALUE - 16, 4L * maxDocChars + 4096);
  }

  static void read(Reader in, SourceFile file, long start, SplitReader.Options options, long base,
      SplitReader.Stats stats, SplitReader.Sink sink) throws IOException {
    int maxLine = maxLineChars(options.maxDocChars());
    ObjectMapper json = mapper(maxLine);
    String[] path = options.textField().split("\\.");
    StringBuilder line = new StringBuilder();
    char[] buf = new char[1 << 16];
    long lineNo = 0;
    long position = 0;
    boolean skipping = false;
    int ordinal = 0;
    int n;
    boolean pendingLine = false;
    while ((n = in.read(buf, 0, buf.length)) > 0 || pendingLine) {
      if (n <= 0) { // last line without '\n'
        buf[0] = '\n';
        n = 1;
        pendingLine = false;
      }
      for (int i = 0; i < n; i++) {
        char c = buf[i];
        position++;
        if (c != '\n') {
          if (!skipping) {
            if (line.length() >= maxLine) {
              skipping = true;
              line.setLength(0);
            } else {
              line.append(c);
            }
          }
          pendingLine = true;
          continue;
        }
        pendingLine = false;
        lineNo++;
        if (skipping) {
          stats.skippedLong++;
          skipping = false;
        } else if (!line.toString().isBlank()) {
          String where = start == 0 ? file.path() + ":" + lineNo
              : file.path() + ": line " + lineNo + " after byte " + start;
          String text = textOf(json, line.toString(), options.textField(), path, where);
          SplitReader.emit(base + position, ordinal++, text, options, stats, sink);
        }
        line.setLength(0);
      }
    }
  }

  private static String textOf(ObjectMapper json, String line, String field, String[] path, String where) {
    JsonNode node;
    try {
      node = json.readTree(line);
    } catch (StreamConstraintsException e) {
      throw new InputException(where + ": a JSON value exceeds Jackson's length limit (" + e.getOriginalMessage()
          + "). Fix: raise max_doc_chars or drop the record");
    } catch (JsonProcessingException e) {
      throw new InputException(where + ": invalid JSON (" + e.getOriginalMessage()
          + "). Fix: make every line one JSON object");
    }
    if (node == null || !node.isObject()) {
      throw new InputException(where + ": expected a JSON object per line");
    }
    JsonNode text = node.get(field);
    if (text == null && path.length > 1) {
      text = node;
      for (String p : path) {
        text = text == null ? null : text.get(p);
      }
    }
    if (text == null || text.isNull()) {
      List<String> present = new ArrayList<>();
      node.fieldNames().forEachRemaining(present::add);
      throw new InputException(where + ": no field \"" + field + "\" (fields present: " + present
          + "). Fix: set text_field to the field holding the text (a.b for nested fields)");
    }
    if (!text.isTextual()) {
      throw new InputException(where + ": field \"" + field + "\" is " + text.getNodeType() + ", expected a string");
    }
    return text.asText();
  }
}
