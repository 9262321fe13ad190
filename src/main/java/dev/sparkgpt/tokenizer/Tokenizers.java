package dev.sparkgpt.tokenizer;

import com.knuddels.jtokkit.api.EncodingType;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where tokenizers come from: the built-in GPT-2 one, or a GPT-2-format vocabulary from a directory, bytes or
 * streams. Loaded tokenizers are cached per JVM, because Spark executors ask for one per partition.
 */
public final class Tokenizers {
  /** The spec of the built-in GPT-2 tokenizer (JTokkit's r50k_base). */
  public static final String GPT2 = "gpt2";
  /** GPT-3.5/4's tiktoken encoding (100,277 ids, eot 100257), bundled with JTokkit. */
  public static final String CL100K = "cl100k_base";
  /** GPT-4o's tiktoken encoding (200,019 ids, eot 199999), bundled with JTokkit. */
  public static final String O200K = "o200k_base";
  /** SentencePiece's model file, as Llama-2-style directories name it. */
  public static final String SENTENCEPIECE_FILE = "tokenizer.model";
  /** What a spec may name besides a directory, for messages. */
  public static final String BUILT_IN = "'gpt2', 'cl100k_base', 'o200k_base'";
  /** tiktoken's cl100k_base regex (JTokkit encodes with an equivalent hand-written parser). */
  static final String CL100K_PATTERN = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}"
      + "\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
  /** tiktoken's o200k_base regex, as JTokkit 1.1.0 uses it. */
  static final String O200K_PATTERN = String.join("|",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
      "\\p{N}{1,3}", " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*", "\\s*[\\r\\n]+", "\\s+(?!\\S)", "\\s+");

  /** Loading GPT-2 takes ~0.5 s and ~10 MB, a trained vocabulary less; a handful of entries per JVM at most. */
  private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

  private Tokenizers() {}

  /** Whether {@code spec} names a bundled tokenizer (gpt2 / r50k_base, cl100k_base, o200k_base), not a directory. */
  public static boolean isBuiltIn(String spec) {
    return GPT2.equals(spec) || "r50k_base".equals(spec) || CL100K.equals(spec) || O200K.equals(spec);
  }

  /**
   * {@code "gpt2"} (or its tiktoken name {@code "r50k_base"}), {@code "cl100k_base"} or {@code "o200k_base"} for a
   * bundled tokenizer; anything else is a local directory holding encoder.json + vocab.bpe, named after the
   * directory. Cached per JVM: a directory whose files changed (size or modification time) is read again.
   *
   * @throws InputException when the directory or a file is missing or the files are inconsistent
   */
  public static Tokenizer load(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("tokenizer spec is empty: use " + BUILT_IN + " or a directory holding "
          + BpeVocabulary.ENCODER_FILE + " and " + BpeVocabulary.MERGES_FILE);
    }
    if (spec.equals(GPT2) || spec.equals("r50k_base")) {
      return gpt2();
    }
    if (spec.equals(CL100K)) {
      return CACHE.computeIfAbsent(CL100K, k -> BpeTokenizer.tiktoken(CL100K, EncodingType.CL100K_BASE, 100256,
          CL100K_PATTERN, Map.of(BpeVocabulary.ENDOFTEXT, 100257, "<|fim_prefix|>", 100258, "<|fim_middle|>", 100259,
              "<|fim_suffix|>", 100260, "<|endofprompt|>", 100276)));
    }
    if (spec.equals(O200K)) {
      return CACHE.computeIfAbsent(O200K, k -> BpeTokenizer.tiktoken(O200K, EncodingType.O200K_BASE, 199998,
          O200K_PATTERN, Map.of(BpeVocabulary.ENDOFTEXT, 199999, "<|endofprompt|>", 200018)));
    }
    Path dir = Path.of(spec).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new InputException(spec + ": tokenizer directory not found. Fix: pass " + BUILT_IN + " or a directory"
          + " written by 'sparkgpt train-tokenizer' (it holds " + BpeVocabulary.ENCODER_FILE + " and " + BpeVocabulary.MERGES_FILE
          + ")");
    }
    String key = "dir:" + dir + stamp(dir.resolve(BpeVocabulary.ENCODER_FILE))
        + stamp(dir.resolve(BpeVocabulary.MERGES_FILE));
    Path name = dir.getFileName();
    return CACHE.computeIfAbsent(key,
        k -> BpeTokenizer.of(name == null ? dir.toString() : name.toString(), BpeVocabulary.read(dir)));
  }

  /** The built-in GPT-2 tokenizer (50257 ids, eot 50256), loaded once per JVM. */
  public static Tokenizer gpt2() {
    return CACHE.computeIfAbsent(GPT2, k -> BpeTokenizer.gpt2());
  }

  /**
   * A tokenizer from the contents of encoder.json and vocab.bpe, as a Spark driver ships them to executors. Cached
   * per JVM by name and content digest. A null or blank name becomes "bpe-&lt;vocab size&gt;".
   *
   * @throws InputException when the files are malformed or inconsistent (the message names them)
   */
  public static Tokenizer fromBytes(String name, byte[] encoderJson, byte[] vocabBpe) {
    String key = "bytes:" + name + ":" + sha256(encoderJson) + ":" + sha256(vocabBpe);
    return CACHE.computeIfAbsent(key, k -> fromVocabulary(name, BpeVocabulary.parse(name == null || name.isBlank()
        ? "(tokenizer bytes)" : name, encoderJson, vocabBpe)));
  }

  /**
   * A tokenizer from a Hugging Face byte-level BPE {@code tokenizer.json} given as bytes; {@code eosToken} (the
   * eos_token of tokenizer_config.json, may be null) names the end-of-text token, else {@code <|endoftext|>}. Cached
   * per JVM by name, content digest and eos token.
   *
   * @throws InputException when the file is malformed or describes a tokenizer this reader would not reproduce
   */
  public static Tokenizer fromHfTokenizerJson(String name, byte[] tokenizerJson, String eosToken) {
    String key = "hf:" + name + ":" + sha256(tokenizerJson) + ":" + eosToken;
    return CACHE.computeIfAbsent(key, k -> BpeTokenizer.of(name, HfTokenizerJson.parse(
        name + "/" + HfTokenizerJson.FILE, tokenizerJson, eosToken)));
  }

  /**
   * A tokenizer from a SentencePiece {@code tokenizer.model} given as bytes (Llama-2's, Mistral's: BPE with the
   * identity normaliser); its end of text is the model's eos piece. Cached per JVM by name and content digest.
   *
   * @throws InputException when the file is not a SentencePiece model or one this reader would not reproduce
   */
  public static Tokenizer fromSentencePiece(String name, byte[] model) {
    String key = "spm:" + name + ":" + sha256(model);
    String source = name + "/" + SENTENCEPIECE_FILE;
    return CACHE.computeIfAbsent(key, k -> SentencePieceTokenizer.of(name, source, model));
  }

  /**
   * The Hugging Face {@code tokenizer.json} of a byte-level BPE tokenizer (any of those above), such that the
   * {@code tokenizers} library encodes as this one does.
   *
   * @throws IllegalArgumentException for a tokenizer that is not byte-level BPE
   */
  public static byte[] toHfTokenizerJson(Tokenizer tokenizer) {
    if (!(tokenizer instanceof BpeTokenizer bpe)) {
      throw new IllegalArgumentException(tokenizer.name() + " is not a byte-level BPE tokenizer");
    }
    return HfTokenizerJson.write(bpe.definition());
  }

  /** Whether a tokenizer.json is SentencePiece-style (Llama-2's copy of its tokenizer.model), not byte-level BPE. */
  public static boolean isSentencePieceStyle(byte[] tokenizerJson) {
    return HfTokenizerJson.isSentencePieceStyle(tokenizerJson);
  }

  /** As {@link #fromBytes}, reading both streams to the end (the caller closes them). */
  public static Tokenizer fromStreams(String name, InputStream encoderJson, InputStream vocabBpe) {
    try {
      return fromBytes(name, encoderJson.readAllBytes(), vocabBpe.readAllBytes());
    } catch (IOException e) {
      throw new InputException(name + ": cannot read " + BpeVocabulary.ENCODER_FILE + " / " + BpeVocabulary.MERGES_FILE
          + ": " + e.getMessage(), e);
    }
  }

  /** A tokenizer for a vocabulary in memory, e.g. straight from {@link BpeTrainer}; not cached. */
  public static Tokenizer fromVocabulary(String name, BpeVocabulary vocabulary) {
    return BpeTokenizer.of(name == null || name.isBlank() ? "bpe-" + vocabulary.size() : name, vocabulary);
  }

  private static String stamp(Path file) {
    try {
      return ":" + Files.size(file) + "@" + Files.getLastModifiedTime(file).toMillis();
    } catch (IOException e) {
      return ":absent"; // BpeVocabulary.read reports the missing file with its path
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
