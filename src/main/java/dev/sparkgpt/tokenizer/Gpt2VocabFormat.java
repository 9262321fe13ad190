package dev.sparkgpt.tokenizer;

import static dev.sparkgpt.tokenizer.BpeVocabulary.ENCODER_FILE;
import static dev.sparkgpt.tokenizer.BpeVocabulary.ENDOFTEXT;
import static dev.sparkgpt.tokenizer.BpeVocabulary.MERGES_FILE;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** GPT-2's vocabulary files: parsing with consistency checks, and writing in GPT-2's exact layout. */
final class Gpt2VocabFormat {
  private static final JsonFactory JSON = new JsonFactory();
  private static final String VERSION_HEADER = "#version: 0.2";
  private static final String FIX = "Fix: use an encoder.json and vocab.bpe written together (by 'sparkgpt"
      + " train-tokenizer', or GPT-2's original pair), or --tokenizer gpt2";

  private Gpt2VocabFormat() {}

  static BpeVocabulary parse(String source, byte[] encoderJson, byte[] vocabBpe) {
    Map<String, Integer> ids = readEncoder(source, encoderJson);
    int size = ids.size();
    byte[][] tokens = new byte[size][];
    String[] names = new String[size];
    int eotId = -1;
    for (Map.Entry<String, Integer> e : ids.entrySet()) {
      String token = e.getKey();
      int id = e.getValue();
      if (id < 0 || id >= size) {
        throw encoderError(source, "token " + quote(token) + " has id " + id + ", outside 0.." + (size - 1)
            + " (the ids of " + size + " tokens must be exactly 0.." + (size - 1) + ")");
      }
      if (names[id] != null) {
        throw encoderError(source, "tokens " + quote(names[id]) + " and " + quote(token) + " both have id " + id);
      }
      names[id] = token;
      if (token.equals(ENDOFTEXT)) {
        eotId = id;
        tokens[id] = ByteAlphabet.utf8(ENDOFTEXT);
      } else {
        tokens[id] = ByteAlphabet.toBytes(token);
        if (tokens[id] == null || tokens[id].length == 0) {
          throw encoderError(source, "token " + quote(token) + " (id " + id + ") is not written in GPT-2's byte"
              + " alphabet (bytes_to_unicode), and " + ENDOFTEXT + " is the only special token supported");
        }
      }
    }
    if (eotId < 0) {
      throw encoderError(source, "no " + ENDOFTEXT + " entry (its id is the end-of-text id)");
    }
    boolean[] available = new boolean[size];
    StringBuilder missing = new StringBuilder();
    for (int b = 0; b < 256; b++) {
      Integer id = ids.get(ByteAlphabet.toText(new byte[] {(byte) b}));
      if (id == null) {
        missing.append(missing.length() == 0 ? "" : ", ").append(String.format("0x%02X", b));
      } else {
        available[id] = true;
      }
    }
    if (missing.length() > 0) {
      throw encoderError(source, "single-byte tokens missing for bytes " + missing + " (all 256 must be present)");
    }
    int[][] merges = readMerges(source, vocabBpe, ids, eotId, available);
    if (256 + merges[0].length + 1 != size) {
      for (int id = 0; id < size; id++) {
        if (!available[id] && id != eotId) {
          throw new InputException(source + "/" + ENCODER_FILE + ": token " + quote(names[id]) + " (id " + id
              + ") is neither a single byte nor the result of a merge in " + MERGES_FILE + " (" + size + " tokens, "
              + merges[0].length + " merges). " + FIX);
        }
      }
    }
    return new BpeVocabulary(tokens, eotId, merges[0], merges[1], merges[2]);
  }

  /** encoder.json as token → id, refusing duplicate keys (a plain Map read would keep the last one silently). */
  private static Map<String, Integer> readEncoder(String source, byte[] json) {
    Map<String, Integer> ids = new HashMap<>(json.length / 16);
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw encoderError(source, "expected a JSON object {\"token\": id, ...}");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String token = p.currentName();
        if (p.nextToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
          throw encoderError(source, "the id of token " + quote(token) + " is " + p.getText() + ", not an int");
        }
        if (ids.put(token, p.getIntValue()) != null) {
          throw encoderError(source, "token " + quote(token) + " appears twice");
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw encoderError(source, "unexpected " + p.currentToken() + " after the entries");
      }
    } catch (IOException e) {
      throw new InputException(source + "/" + ENCODER_FILE + ": malformed JSON (" + e.getMessage() + "). " + FIX, e);
    }
    return ids;
  }

  /** vocab.bpe as {left ids, right ids, result ids}; marks each result in {@code available}. */
  private static int[][] readMerges(String source, byte[] bytes, Map<String, Integer> ids, int eotId,
      boolean[] available) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw mergesError(source, 0, "is not valid UTF-8");
    }
    String[] lines = text.split("\n", -1);
    if (!lines[0].startsWith("#version")) {
      throw mergesError(source, 1, "should be a '" + VERSION_HEADER + "' header, found " + quote(clip(lines[0])));
    }
    int[] left = new int[lines.length];
    int[] right = new int[lines.length];
    int[] result = new int[lines.length];
    int n = 0;
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
      if (line.isEmpty()) {
        continue;
      }
      int space = line.indexOf(' ');
      if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
        throw mergesError(source, i + 1, "should be two tokens separated by one space, found " + quote(clip(line)));
      }
      String a = line.substring(0, space);
      String b = line.substring(space + 1);
      left[n] = operand(source, i + 1, a, ids, available);
      right[n] = operand(source, i + 1, b, ids, available);
      Integer made = ids.get(a + b);
      if (made == null) {
        throw mergesError(source, i + 1, "merge " + quote(line) + " makes " + quote(a + b) + ", which is not in "
            + ENCODER_FILE);
      }
      if (made == eotId) {
        throw mergesError(source, i + 1, "merge " + quote(line) + " makes " + ENDOFTEXT + ", which must stay special");
      }
      if (available[made]) {
        throw mergesError(source, i + 1, "merge " + quote(line) + " makes " + quote(a + b) + " (id " + made
            + "), which a byte token or an earlier merge already made");
      }
      available[made] = true;
      result[n++] = made;
    }
    return new int[][] {Arrays.copyOf(left, n), Arrays.copyOf(right, n), Arrays.copyOf(result, n)};
  }

  private static int operand(String source, int line, String token, Map<String, Integer> ids, boolean[] available) {
    Integer id = ids.get(token);
    if (id == null || !available[id]) {
      throw mergesError(source, line, "uses " + quote(token) + ", which is " + (id == null ? "not in " + ENCODER_FILE
          : "neither a byte token nor made by an earlier merge"));
    }
    return id;
  }

  private static InputException encoderError(String source, String problem) {
    return new InputException(source + "/" + ENCODER_FILE + ": " + problem + ". " + FIX);
  }

  private static InputException mergesError(String source, int line, String problem) {
    String where = line > 0 ? " line " + line : "";
    return new InputException(source + "/" + MERGES_FILE + ":" + where + " " + problem + ". " + FIX);
  }

  private static String quote(String s) {
    return "\"" + s + "\"";
  }

  private static String clip(String s) {
    return s.length() <= 60 ? s : s.substring(0, 60) + "…";
  }

  /** As Python's {@code json.dumps(encoder)} writes it, which is how GPT-2's encoder.json was made. */
  static byte[] writeEncoder(byte[][] tokens, int eotId) {
    StringBuilder out = new StringBuilder(tokens.length * 16).append('{');
    for (int id = 0; id < tokens.length; id++) {
      String token = id == eotId ? ENDOFTEXT : ByteAlphabet.toText(tokens[id]);
      out.append(id == 0 ? "\"" : ", \"");
      for (int i = 0; i < token.length(); i++) {
        char c = token.charAt(i);
        if (c == '"' || c == '\\') {
          out.append('\\').append(c);
        } else if (c < 0x20 || c > 0x7E) { // ensure_ascii: everything outside printable ASCII as \\uxxxx
          out.append(String.format("\\u%04x", (int) c));
        } else {
          out.append(c);
        }
      }
      out.append("\": ").append(id);
    }
    return out.append('}').toString().getBytes(StandardCharsets.UTF_8);
  }

  static byte[] writeMerges(byte[][] tokens, int[] left, int[] right) {
    StringBuilder out = new StringBuilder(left.length * 12).append(VERSION_HEADER).append('\n');
    for (int i = 0; i < left.length; i++) {
      out.append(ByteAlphabet.toText(tokens[left[i]])).append(' ').append(ByteAlphabet.toText(tokens[right[i]]))
          .append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }
}
