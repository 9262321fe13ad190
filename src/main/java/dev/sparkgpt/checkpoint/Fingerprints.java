package dev.sparkgpt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a checkpoint records about its inputs, and the checks against them: the tokenizer's vocabulary hash (every
 * verb that feeds the model ids) and the token shards' manifest hash (a resume must continue on the same data, or
 * its cursor points into another corpus). A mismatch is refused by name, with the override that accepts it.
 */
public final class Fingerprints {
  /** Override of the tokenizer check (a CLI flag of the inference verbs; the key {@code allow_tokenizer_mismatch}). */
  public static final String ALLOW_TOKENIZER = "--allow-tokenizer-mismatch";
  /** Override of the data check on resume (config key). */
  public static final String ALLOW_DATA = "train.allow_data_change";

  private Fingerprints() {}

  /** The state.json section naming a tokenizer. */
  public static Map<String, Object> tokenizer(Tokenizer tokenizer) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", tokenizer.name());
    m.put("hash", tokenizer.hash());
    return m;
  }

  static Optional<String> tokenizerHash(JsonNode state) {
    return text(state.path("tokenizer").path("hash"));
  }

  static Optional<String> manifestHash(JsonNode state) {
    return text(state.path("data").path("manifest_hash"));
  }

  private static Optional<String> text(JsonNode node) {
    return node.isTextual() && !node.asText().isEmpty() ? Optional.of(node.asText()) : Optional.empty();
  }

  /**
   * Identifies a tokenize output by what a training stream depends on: the tokenizer, row layout and every shard
   * (path, rows, bytes) of both splits. Rewriting the shards (a re-tokenize with other settings) changes it.
   */
  public static String manifestHash(Manifest m) {
    StringBuilder sb = new StringBuilder();
    sb.append(m.tokenizer() == null ? "" : m.tokenizer().hash()).append('|').append(m.seqLen()).append('|')
        .append(m.rowTokens()).append('|').append(m.stride()).append('|').append(m.splitMode());
    if (m.splits() != null) {
      m.splits().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
        sb.append('\n').append(e.getKey());
        if (e.getValue().shards() != null) {
          e.getValue().shards().forEach(f -> sb.append('\n').append(f.path()).append(',').append(f.rows()).append(',')
              .append(f.bytes()));
        }
      });
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  /**
   * Refuses {@code tokenizer} for checkpoint {@code where} when the checkpoint recorded another vocabulary, unless
   * {@code allow}. A checkpoint without a record (a Hugging Face directory) passes; vocabulary size is checked apart.
   */
  public static void checkTokenizer(String where, Optional<String> recorded, Tokenizer tokenizer, boolean allow,
      String override) {
    checkTokenizer(where, recorded, tokenizer.hash(), tokenizer.name(), allow, override);
  }

  /** As above, for a tokenizer known by its hash and name (a finetune's state). */
  public static void checkTokenizer(String where, Optional<String> recorded, String hash, String name, boolean allow,
      String override) {
    if (recorded.isPresent() && !recorded.get().equals(hash) && !allow) {
      throw new ConfigException("tokenizer", where + " was trained with another tokenizer than " + name
          + " (vocabulary hash " + recorded.get() + " ≠ " + hash + ")", "use the checkpoint's tokenizer, "
          + "or accept the mismatch knowingly with " + override);
    }
  }

  /** Refuses a resume onto other token shards than the run trained on, unless {@code allow}. */
  public static void checkManifest(String where, Optional<String> recorded, String actual, String shards,
      boolean allow) {
    if (recorded.isPresent() && !recorded.get().equals(actual) && !allow) {
      throw new ConfigException("data.shards", where + " was trained on other shards than " + shards + " (manifest "
          + "hash " + recorded.get() + " ≠ " + actual + "): its data cursor would point into another corpus",
          "resume on the same shards, start a new out_dir, or set " + ALLOW_DATA + "=true to continue on the new "
          + "shards from the same position");
    }
  }
}
