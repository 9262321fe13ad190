package dev.sparkgpt.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link Tokenizer} on JTokkit's byte-pair encoder. Encoding goes through JTokkit's {@code encodeOrdinary}; the
 * special token and decoding are handled here, because JTokkit 1.1.0's {@code encode} refuses text holding a special
 * token ("Encoding special tokens is not supported") and its {@code decode} replaces bad UTF-8 the Java way, not
 * tiktoken's way (see {@link Utf8}).
 */
final class BpeTokenizer implements Tokenizer {
  static final int GPT2_VOCAB_SIZE = 50257;

  private final String name;
  private final Encoding encoding;
  private final byte[][] tokens;
  private final int eotId;
  /** JTokkit yields ranks; null when ranks are the ids (GPT-2, our trainer), else rank → id. */
  private final int[] rankToId;
  private final String hash;

  private BpeTokenizer(String name, Encoding encoding, byte[][] tokens, int eotId, int[] ranks) {
    this.name = name;
    this.encoding = encoding;
    this.tokens = tokens;
    this.eotId = eotId;
    this.rankToId = isIdentity(ranks) ? null : invert(ranks);
    this.hash = BpeVocabulary.canonicalHash(tokens, ranks, eotId);
  }

  /** GPT-2 on JTokkit's bundled r50k_base; the token bytes come from JTokkit itself (one decode per id). */
  static BpeTokenizer gpt2() {
    Encoding r50k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    int eot = GPT2_VOCAB_SIZE - 1;
    byte[][] tokens = new byte[GPT2_VOCAB_SIZE][];
    int[] ranks = new int[GPT2_VOCAB_SIZE];
    IntArrayList one = new IntArrayList(1);
    for (int id = 0; id < GPT2_VOCAB_SIZE; id++) {
      one.clear();
      one.add(id);
      tokens[id] = id == eot ? ByteAlphabet.utf8(BpeVocabulary.ENDOFTEXT) : r50k.decodeBytes(one);
      ranks[id] = id;
    }
    return new BpeTokenizer("gpt2", r50k, tokens, eot, ranks);
  }

  /** A tokenizer for {@code vocabulary}, with GPT-2's pre-tokenizer regex and BPE ranks from the vocabulary. */
  static BpeTokenizer of(String name, BpeVocabulary vocabulary) {
    byte[][] tokens = vocabulary.tokensShared();
    int[] ranks = vocabulary.ranks();
    Map<byte[], Integer> encoder = new HashMap<>(tokens.length * 2);
    for (int id = 0; id < tokens.length; id++) {
      if (id != vocabulary.eotId()) {
        encoder.put(tokens[id], ranks[id]);
      }
    }
    // A fresh registry per vocabulary: registry names must be unique, and nothing else needs this one.
    String registryName = "sparkgpt:" + name;
    EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
    registry.registerGptBytePairEncoding(new GptBytePairEncodingParams(registryName, PreTokenizer.PATTERN, encoder,
        Map.of(BpeVocabulary.ENDOFTEXT, ranks[vocabulary.eotId()])));
    Encoding encoding = registry.getEncoding(registryName).orElseThrow();
    return new BpeTokenizer(name, encoding, tokens, vocabulary.eotId(), ranks);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String hash() {
    return hash;
  }

  @Override
  public int vocabSize() {
    return tokens.length;
  }

  @Override
  public int eotId() {
    return eotId;
  }

  @Override
  public int[] encode(String text) {
    int[] ids = encoding.encodeOrdinary(Objects.requireNonNull(text, "text")).toArray();
    if (rankToId != null) {
      for (int i = 0; i < ids.length; i++) {
        ids[i] = rankToId[ids[i]];
      }
    }
    return ids;
  }

  @Override
  public int[] encodeWithSpecial(String text) {
    int at = Objects.requireNonNull(text, "text").indexOf(BpeVocabulary.ENDOFTEXT);
    if (at < 0) {
      return encode(text);
    }
    // As tiktoken does: the text between special tokens is encoded as ordinary text, each part on its own.
    int[] out = new int[16];
    int n = 0;
    int start = 0;
    while (true) {
      int[] part = encode(text.substring(start, at < 0 ? text.length() : at));
      if (n + part.length + 1 > out.length) {
        out = Arrays.copyOf(out, Math.max(out.length * 2, n + part.length + 1));
      }
      System.arraycopy(part, 0, out, n, part.length);
      n += part.length;
      if (at < 0) {
        return Arrays.copyOf(out, n);
      }
      out[n++] = eotId;
      start = at + BpeVocabulary.ENDOFTEXT.length();
      at = text.indexOf(BpeVocabulary.ENDOFTEXT, start);
    }
  }

  @Override
  public String decode(int[] ids) {
    return Utf8.decode(decodeBytes(ids));
  }

  @Override
  public byte[] decodeBytes(int[] ids) {
    int length = 0;
    for (int i = 0; i < ids.length; i++) {
      int id = ids[i];
      if (id < 0 || id >= tokens.length) {
        throw new IllegalArgumentException("token id " + id + " (position " + i + ") is out of range: vocabulary '"
            + name + "' has " + tokens.length + " ids, 0.." + (tokens.length - 1));
      }
      length += tokens[id].length;
    }
    byte[] out = new byte[length];
    int at = 0;
    for (int id : ids) {
      System.arraycopy(tokens[id], 0, out, at, tokens[id].length);
      at += tokens[id].length;
    }
    return out;
  }

  @Override
  public String toString() {
    return "Tokenizer[" + name + ", " + tokens.length + " ids, eot " + eotId + ", hash " + hash.substring(0, 12) + "]";
  }

  private static boolean isIdentity(int[] ranks) {
    for (int i = 0; i < ranks.length; i++) {
      if (ranks[i] != i) {
        return false;
      }
    }
    return true;
  }

  private static int[] invert(int[] ranks) {
    int[] inverse = new int[ranks.length];
    for (int id = 0; id < ranks.length; id++) {
      inverse[ranks[id]] = id;
    }
    return inverse;
  }
}
