package dev.sparkgpt.tokenizer;

import dev.sparkgpt.io.InputException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A SentencePiece {@code tokenizer.model} (the {@code ModelProto} of sentencepiece_model.proto), read for the fields
 * encoding depends on: the pieces (text, score, type), the trainer's model type, byte fallback and unknown surface,
 * and the normaliser's dummy prefix, whitespace handling and rule table.
 *
 * <p>Read with a dozen lines of protobuf wire format rather than protobuf-java: the one on Spark's class path is
 * whichever the cluster's distribution ships (2.5 from Hive, 3.x from Tink), and the schema is not ours to generate.
 */
record SentencePieceModel(List<Piece> pieces, int modelType, boolean byteFallback, String unkSurface, int bosId, int eosId,
    boolean treatWhitespaceAsSuffix, String normalizerName, boolean hasRules, boolean addDummyPrefix,
    boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
  static final int UNIGRAM = 1;
  static final int BPE = 2;

  /** Piece types, as sentencepiece_model.proto numbers them. */
  enum Type { NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE }

  record Piece(String text, float score, Type type) {}

  /** Parses {@code bytes}; {@code source} names the file in errors. */
  static SentencePieceModel parse(String source, byte[] bytes) {
    try {
      Wire model = new Wire(bytes, 0, bytes.length);
      List<Piece> pieces = new ArrayList<>();
      Wire trainer = null;
      Wire normalizer = null;
      while (model.more()) {
        int tag = model.tag();
        switch (tag) {
          case 1 << 3 | 2 -> pieces.add(piece(model.message()));
          case 2 << 3 | 2 -> trainer = model.message();
          case 3 << 3 | 2 -> normalizer = model.message();
          default -> model.skip(tag);
        }
      }
      int modelType = UNIGRAM;
      boolean byteFallback = false;
      boolean suffix = false;
      String unkSurface = " \u2047 ";
      int bosId = 1;
      int eosId = 2;
      for (Wire t = trainer; t != null && t.more(); ) {
        int tag = t.tag();
        switch (tag) {
          case 3 << 3 -> modelType = (int) t.varint();
          case 24 << 3 -> suffix = t.varint() != 0;
          case 35 << 3 -> byteFallback = t.varint() != 0;
          case 41 << 3 -> bosId = (int) t.varint();
          case 42 << 3 -> eosId = (int) t.varint();
          case 44 << 3 | 2 -> unkSurface = t.string();
          default -> t.skip(tag);
        }
      }
      String name = "";
      boolean rules = false;
      boolean dummy = true;
      boolean removeExtra = true;
      boolean escape = true;
      for (Wire n = normalizer; n != null && n.more(); ) {
        int tag = n.tag();
        switch (tag) {
          case 1 << 3 | 2 -> name = n.string();
          case 2 << 3 | 2 -> rules = n.message().length() > 0;
          case 3 << 3 -> dummy = n.varint() != 0;
          case 4 << 3 -> removeExtra = n.varint() != 0;
          case 5 << 3 -> escape = n.varint() != 0;
          default -> n.skip(tag);
        }
      }
      if (pieces.isEmpty()) {
        throw new IllegalArgumentException("it holds no pieces");
      }
      return new SentencePieceModel(List.copyOf(pieces), modelType, byteFallback, unkSurface, bosId, eosId, suffix, name, rules,
          dummy, removeExtra, escape);
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new InputException(source + ": is not a SentencePiece model (" + e.getMessage() + "). Fix: use the "
          + "model's own, unedited tokenizer.model (a Llama-3-style tokenizer.model is tiktoken's format: pass the "
          + "directory's tokenizer.json instead)", e);
    }
  }

  private static Piece piece(Wire w) {
    String text = null;
    float score = 0;
    Type type = Type.NORMAL;
    while (w.more()) {
      int tag = w.tag();
      switch (tag) {
        case 1 << 3 | 2 -> text = w.string();
        case 2 << 3 | 5 -> score = Float.intBitsToFloat(w.fixed32());
        case 3 << 3 -> {
          int t = (int) w.varint();
          if (t < 1 || t > 6) {
            throw new IllegalArgumentException("piece type " + t + " is unknown");
          }
          type = Type.values()[t - 1];
        }
        default -> w.skip(tag);
      }
    }
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("a piece has no text");
    }
    return new Piece(text, score, type);
  }

  /** Protobuf wire format over a byte range: varints, fixed32, length-delimited fields; groups are not used. */
  private static final class Wire {
    private final byte[] b;
    private int at;
    private final int end;

    Wire(byte[] b, int from, int to) {
      this.b = b;
      this.at = from;
      this.end = to;
    }

    boolean more() {
      return at < end;
    }

    int length() {
      return end - at;
    }

    int tag() {
      int tag = (int) varint();
      if (tag >>> 3 == 0) {
        throw new IllegalArgumentException("field number 0 at byte " + at);
      }
      return tag;
    }

    long varint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        byte x = b[check(at++)];
        v |= (long) (x & 0x7f) << shift;
        if (x >= 0) {
          return v;
        }
      }
      throw new IllegalArgumentException("malformed varint at byte " + at);
    }

    int fixed32() {
      int v = 0;
      for (int i = 0; i < 4; i++) {
        v |= (b[check(at++)] & 0xff) << (8 * i);
      }
      return v;
    }

    Wire message() {
      long n = varint();
      if (n < 0 || n > end - at) {
        throw new IllegalArgumentException("field length " + n + " runs past the end at byte " + at);
      }
      Wire w = new Wire(b, at, at + (int) n);
      at += (int) n;
      return w;
    }

    String string() {
      Wire w = message();
      return new String(b, w.at, w.end - w.at, StandardCharsets.UTF_8);
    }

    void skip(int tag) {
      switch (tag & 7) {
        case 0 -> varint();
        case 1 -> at = check(at + 8 - 1) + 1;
        case 2 -> message();
        case 5 -> at = check(at + 4 - 1) + 1;
        default -> throw new IllegalArgumentException("wire type " + (tag & 7) + " at byte " + at);
      }
    }

    private int check(int i) {
      if (i >= end) {
        throw new IllegalArgumentException("truncated at byte " + i);
      }
      return i;
    }
  }
}
