package dev.sparkgpt.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A {@link Tokenizer} on JTokkit's byte-pair encoder, for any {@link BpeDefinition} (GPT-2's, a trained vocabulary,
 * a Hugging Face tokenizer.json, cl100k_base / o200k_base). Encoding goes through JTokkit's {@code encodeOrdinary};
 * added tokens and decoding are handled here, because JTokkit 1.1.0's {@code encode} refuses text holding a special
 * token ("Encoding special tokens is not supported") and its {@code decode} replaces bad UTF-8 the Java way, not
 * tiktoken's way (see {@link Utf8}).
 */
final class BpeTokenizer implements Tokenizer {
  static final int GPT2_VOCAB_SIZE = 50257;

  private final String name;
  private final Encoding encoding;
  private final byte[][] tokens;
  private final int eotId;
  private final boolean nfc;
  /** JTokkit yields ranks; null when ranks are the ids (GPT-2, our trainer), else rank → id. */
  private final int[] rankToId;
  /** Content → id of the added tokens each mode splits out (longest first), or null when there are none. */
  private final Splitter ordinary;
  private final Splitter withSpecial;
  private final String hash;
  private final BpeDefinition definition;

  private BpeTokenizer(String name, Encoding encoding, BpeDefinition d) {
    this.name = name;
    this.encoding = encoding;
    this.tokens = d.tokens();
    this.eotId = d.eotId();
    this.nfc = d.nfc();
    this.rankToId = isIdentity(d.ranks()) ? null : invert(d.ranks());
    this.ordinary = Splitter.of(d.added());
    Map<String, Integer> all = new HashMap<>(d.added());
    all.putAll(d.special());
    this.withSpecial = Splitter.of(all);
    this.hash = d.hash();
    this.definition = d;
  }

  /** What this tokenizer is made of (for writing it out as tokenizer.json). */
  BpeDefinition definition() {
    return definition;
  }

  /** GPT-2 on JTokkit's bundled r50k_base; the token bytes come from JTokkit itself (one decode per id). */
  static BpeTokenizer gpt2() {
    return tiktoken("gpt2", EncodingType.R50K_BASE, GPT2_VOCAB_SIZE - 1, PreTokenizer.PATTERN.pattern(),
        Map.of(BpeVocabulary.ENDOFTEXT, GPT2_VOCAB_SIZE - 1));
  }

  /**
   * One of JTokkit's bundled encodings: ids 0..ordinary-1 are its ranks, {@code special} the added tokens as tiktoken
   * defines them (ids in between unused), {@code <|endoftext|>} the end of text.
   */
  static BpeTokenizer tiktoken(String name, EncodingType type, int ordinary, String pattern,
      Map<String, Integer> special) {
    Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(type);
    int size = special.values().stream().mapToInt(Integer::intValue).max().orElse(ordinary - 1) + 1;
    byte[][] tokens = new byte[Math.max(size, ordinary)][];
    int[] ranks = new int[tokens.length];
    Arrays.fill(ranks, -1);
    IntArrayList one = new IntArrayList(1);
    for (int id = 0; id < ordinary; id++) {
      one.clear();
      one.add(id);
      tokens[id] = encoding.decodeBytes(one);
      ranks[id] = id;
    }
    special.forEach((content, id) -> tokens[id] = ByteAlphabet.utf8(content));
    int eot = special.get(BpeVocabulary.ENDOFTEXT);
    return new BpeTokenizer(name, encoding, new BpeDefinition(pattern, false, tokens, ranks, special, Map.of(), eot));
  }

  /** A tokenizer for {@code vocabulary}, with GPT-2's pre-tokenizer regex and BPE ranks from the vocabulary. */
  static BpeTokenizer of(String name, BpeVocabulary vocabulary) {
    int[] ranks = vocabulary.ranks().clone();
    ranks[vocabulary.eotId()] = -1;
    return of(name, new BpeDefinition(PreTokenizer.PATTERN.pattern(), false, vocabulary.tokensShared(), ranks,
        Map.of(BpeVocabulary.ENDOFTEXT, vocabulary.eotId()), Map.of(), vocabulary.eotId()));
  }

  /** A tokenizer for any byte-level BPE definition (on a JTokkit encoding registered for it alone). */
  static BpeTokenizer of(String name, BpeDefinition d) {
    Map<byte[], Integer> encoder = new HashMap<>(d.tokens().length * 2);
    for (int id = 0; id < d.tokens().length; id++) {
      if (d.ranks()[id] >= 0) {
        encoder.put(d.tokens()[id], d.ranks()[id]);
      }
    }
    // A fresh registry per vocabulary: registry names must be unique, and nothing else needs this one.
    String registryName = "sparkgpt:" + name;
    EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
    registry.registerGptBytePairEncoding(new GptBytePairEncodingParams(registryName,
        Pattern.compile(d.pattern(), Pattern.UNICODE_CHARACTER_CLASS), encoder, Map.of())); // added tokens: here
    return new BpeTokenizer(name, registry.getEncoding(registryName).orElseThrow(), d);
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
  public int bosId() {
    return definition.bosId();
  }

  @Override
  public int[] encode(String text) {
    return ordinary == null ? bpe(Objects.requireNonNull(text, "text")) : split(text, ordinary);
  }

  @Override
  public int[] encodeWithSpecial(String text) {
    return split(Objects.requireNonNull(text, "text"), withSpecial);
  }

  /** BPE alone: the pre-tokenizer's words through JTokkit, ranks mapped to ids. */
  private int[] bpe(String text) {
    String normalized = nfc ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
    int[] ids = encoding.encodeOrdinary(normalized).toArray();
    if (rankToId != null) {
      for (int i = 0; i < ids.length; i++) {
        ids[i] = rankToId[ids[i]];
      }
    }
    return ids;
  }

  /** As tiktoken and Hugging Face do: each added token becomes its id, the text between is BPE'd piece by piece. */
  private int[] split(String text, Splitter splitter) {
    if (splitter == null) {
      return bpe(text);
    }
    Matcher m = splitter.pattern().matcher(text);
    int[] out = new int[16];
    int n = 0;
    int start = 0;
    while (true) {
      boolean found = m.find();
      int[] part = bpe(text.substring(start, found ? m.start() : text.length()));
      if (n + part.length + 1 > out.length) {
        out = Arrays.copyOf(out, Math.max(out.length * 2, n + part.length + 1));
      }
      System.arraycopy(part, 0, out, n, part.length);
      n += part.length;
      if (!found) {
        return Arrays.copyOf(out, n);
      }
      out[n++] = splitter.ids().get(m.group());
      start = m.end();
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
      if (id < 0 || id >= tokens.length || tokens[id] == null) {
        throw new IllegalArgumentException("token id " + id + " (position " + i + ") is out of range: vocabulary '"
            + name + "' has " + tokens.length + " ids, 0.." + (tokens.length - 1)
            + (id >= 0 && id < tokens.length ? ", and " + id + " is unused" : ""));
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
      if (ranks[i] >= 0 && ranks[i] != i) {
        return false;
      }
    }
    return true;
  }

  private static int[] invert(int[] ranks) {
    int[] inverse = new int[Arrays.stream(ranks).max().orElse(-1) + 1];
    for (int id = 0; id < ranks.length; id++) {
      if (ranks[id] >= 0) {
        inverse[ranks[id]] = id;
      }
    }
    return inverse;
  }

  /** Added tokens as one alternation, longest first (leftmost-longest matching, as Hugging Face splits them). */
  private record Splitter(Pattern pattern, Map<String, Integer> ids) {
    static Splitter of(Map<String, Integer> ids) {
      if (ids.isEmpty()) {
        return null;
      }
      String alternation = ids.keySet().stream()
          .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
          .map(Pattern::quote).collect(Collectors.joining("|"));
      return new Splitter(Pattern.compile(alternation), Map.copyOf(ids));
    }
  }
}
