package dev.sparkgpt.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A slow, obviously-correct GPT-2 BPE written from the algorithm of GPT-2's encoder.py, independent of the main
 * code: its own bytes_to_unicode, its own spelling of the regex, and merging by the rank of the pair in vocab.bpe
 * (not by the rank of the merged token, as tiktoken and JTokkit do). The tests compare the tokenizer with it.
 */
final class ReferenceBpe {
  /** The regex as GPT-2's encoder.py spells it; \s as Unicode White_Space, as in tiktoken. */
  static final Pattern WORDS = Pattern.compile(
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
      Pattern.UNICODE_CHARACTER_CLASS);

  private final Map<String, Integer> encoder;
  private final Map<String, Integer> pairRank = new HashMap<>();
  private final char[] byteChar = bytesToUnicode();
  private final Map<String, int[]> cache = new HashMap<>();

  ReferenceBpe(byte[] encoderJson, byte[] vocabBpe) {
    try {
      encoder = new ObjectMapper().readValue(encoderJson, new TypeReference<Map<String, Integer>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String[] lines = new String(vocabBpe, StandardCharsets.UTF_8).split("\n");
    for (int i = 1; i < lines.length; i++) { // line 0 is "#version: 0.2"
      if (!lines[i].isEmpty()) {
        pairRank.put(lines[i], i - 1);
      }
    }
  }

  /** GPT-2's own files, as bundled. */
  static ReferenceBpe gpt2() {
    return new ReferenceBpe(resource("/data/tokenizer/encoder.json"), resource("/data/tokenizer/vocab.bpe"));
  }

  static byte[] resource(String name) {
    try (InputStream in = ReferenceBpe.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String text(String name) {
    return new String(resource(name), StandardCharsets.UTF_8);
  }

  /** Ordinary encoding: every word through {@link #bpe}, then the encoder's ids. */
  int[] encode(String text) {
    List<Integer> ids = new ArrayList<>();
    Matcher m = WORDS.matcher(text);
    while (m.find()) {
      for (int id : cache.computeIfAbsent(m.group(), this::encodeWord)) {
        ids.add(id);
      }
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  private int[] encodeWord(String word) {
    List<String> parts = bpe(word);
    int[] ids = new int[parts.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = encoder.get(parts.get(i));
    }
    return ids;
  }

  /** encoder.py's bpe(): repeatedly merge every occurrence of the adjacent pair with the lowest merge rank. */
  List<String> bpe(String word) {
    List<String> parts = new ArrayList<>();
    for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
      parts.add(String.valueOf(byteChar[b & 0xFF]));
    }
    while (parts.size() > 1) {
      int best = Integer.MAX_VALUE;
      String bestPair = null;
      for (int i = 0; i + 1 < parts.size(); i++) {
        Integer rank = pairRank.get(parts.get(i) + " " + parts.get(i + 1));
        if (rank != null && rank < best) {
          best = rank;
          bestPair = parts.get(i) + " " + parts.get(i + 1);
        }
      }
      if (bestPair == null) {
        break;
      }
      List<String> merged = new ArrayList<>();
      for (int i = 0; i < parts.size(); i++) {
        if (i + 1 < parts.size() && bestPair.equals(parts.get(i) + " " + parts.get(i + 1))) {
          merged.add(parts.get(i) + parts.get(i + 1));
          i++;
        } else {
          merged.add(parts.get(i));
        }
      }
      parts = merged;
    }
    return parts;
  }

  /** encoder.py's bytes_to_unicode, transcribed: printable bytes stay, the rest map to 256, 257, ... in order. */
  static char[] bytesToUnicode() {
    List<Integer> bs = new ArrayList<>();
    for (int b = '!'; b <= '~'; b++) {
      bs.add(b);
    }
    for (int b = 0xA1; b <= 0xAC; b++) {
      bs.add(b);
    }
    for (int b = 0xAE; b <= 0xFF; b++) {
      bs.add(b);
    }
    char[] map = new char[256];
    for (int b : bs) {
      map[b] = (char) b;
    }
    int n = 0;
    for (int b = 0; b < 256; b++) {
      if (!bs.contains(b)) {
        map[b] = (char) (256 + n++);
      }
    }
    return map;
  }
}
