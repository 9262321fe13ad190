package dev.sparkgpt.tokenizer;

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

  /** Loading GPT-2 takes ~0.5 s and ~10 MB, a trained vocabulary less; a handful of entries per JVM at most. */
  private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

  private Tokenizers() {}

  /**
   * {@code "gpt2"} (or its tiktoken name {@code "r50k_base"}) for the built-in tokenizer; anything else is a local
   * directory holding encoder.json + vocab.bpe, named after the directory. Cached per JVM: a directory whose files
   * changed (size or modification time) is read again.
   *
   * @throws InputException when the directory or a file is missing or the files are inconsistent
   */
  public static Tokenizer load(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("tokenizer spec is empty: use \"gpt2\" or a directory holding "
          + BpeVocabulary.ENCODER_FILE + " and " + BpeVocabulary.MERGES_FILE);
    }
    if (spec.equals(GPT2) || spec.equals("r50k_base")) {
      return gpt2();
    }
    Path dir = Path.of(spec).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new InputException(spec + ": tokenizer directory not found. Fix: pass 'gpt2' or a directory written by"
          + " 'sparkgpt train-tokenizer' (it holds " + BpeVocabulary.ENCODER_FILE + " and " + BpeVocabulary.MERGES_FILE
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
