package dev.sparkgpt.jobs;

import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.checkpoint.Fingerprints;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.HfCheckpoints;
import dev.sparkgpt.model.HfGpt2Checkpoint;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The tokenizer a checkpoint was made with, and the check that a tokenizer given by hand is that one. A Hugging Face
 * directory's is its tokenizer files ({@link TokenizerSpec#DIR_FILES}); a SparkGPT checkpoint's is what its
 * state.json records (name, hash, and for a conversion the directory it came from). A checkpoint whose tokenizer is
 * unknown is refused, never guessed — except the two cases with only one answer: a Hugging Face GPT-2 directory
 * without tokenizer files (GPT-2's vocabulary) and a SparkGPT checkpoint from before tokenizers were recorded (gpt2).
 */
public final class CheckpointTokenizer {
  /** The spec that means "the checkpoint's own tokenizer" (also what a blank spec means). */
  public static final String AUTO = "auto";

  private CheckpointTokenizer() {}

  /**
   * {@code spec} ("auto"/blank, a bundled name or a directory) resolved for {@code checkpoint}; {@code option} (e.g.
   * "--tokenizer") is what a refusal tells the user to set.
   *
   * @throws ConfigException when the checkpoint's tokenizer is unknown (auto) or differs from {@code spec}'s
   */
  public static TokenizerSpec resolve(String checkpoint, String spec, Configuration conf, String option) {
    return resolve(checkpoint, spec, conf, option, false, null);
  }

  /**
   * As above; with {@code allowMismatch} (the user's {@link Fingerprints#ALLOW_TOKENIZER}) a tokenizer given by hand
   * is taken even if the checkpoint recorded another, and a recorded tokenizer that cannot be found falls back to
   * GPT-2's instead of being refused.
   */
  public static TokenizerSpec resolve(String checkpoint, String spec, Configuration conf, String option,
      boolean allowMismatch) {
    return resolve(checkpoint, spec, conf, option, allowMismatch, Fingerprints.ALLOW_TOKENIZER);
  }

  /** {@code override}: the flag a refusal offers to accept the mismatch (null: the verb has none, none offered). */
  private static TokenizerSpec resolve(String checkpoint, String spec, Configuration conf, String option,
      boolean allowMismatch, String override) {
    Path dir = new Path(checkpoint);
    boolean hf = HfCheckpoints.isHfDirectory(dir, conf);
    Optional<TokenizerSpec> own = hf ? TokenizerSpec.inDirectory(dir, conf) : recorded(checkpoint, conf);
    Optional<JsonNode> record = hf ? Optional.empty()
        : Checkpoint.stateOf(checkpoint).map(s -> s.path("tokenizer")).filter(t -> t.hasNonNull("hash"));
    String allow = override == null ? "" : "; or accept the mismatch knowingly with " + override;
    if (spec != null && !spec.isBlank() && !spec.equals(AUTO)) {
      TokenizerSpec given = TokenizerSpec.resolve(spec, conf);
      String expected = own.map(s -> s.get().hash()).orElse(record.map(r -> r.path("hash").asText()).orElse(null));
      if (expected != null && !expected.equals(given.get().hash()) && !allowMismatch) {
        throw new ConfigException(option, spec + " (hash " + shortHash(given.get().hash()) + ") is another tokenizer"
            + " than the one " + checkpoint + " was made with (hash " + shortHash(expected) + ")", "leave " + option
            + " unset (or '" + AUTO + "') to use the checkpoint's own" + allow);
      }
      return given;
    }
    if (own.isPresent()) {
      return own.get();
    }
    if (hf) {
      if (isGpt2(dir, conf)) {
        return TokenizerSpec.resolve(Tokenizers.GPT2, conf); // GPT-2's architecture comes with GPT-2's vocabulary
      }
      throw new ConfigException(option, checkpoint + " holds no tokenizer files (none of " + TokenizerSpec.DIR_FILES
          + "), so its tokenizer is unknown",
          "pass " + option + " with the model's tokenizer: a bundled name (" + Tokenizers.BUILT_IN + ") or a "
          + "directory holding " + TokenizerSpec.DIR_FILES);
    }
    if (record.isPresent() && !allowMismatch) {
      throw new ConfigException(option, checkpoint + " was made with another tokenizer, '"
          + record.get().path("name").asText() + "' (hash " + shortHash(record.get().path("hash").asText())
          + "), which it does not say where to find", "pass " + option + " with that tokenizer's directory"
          + (allow.isEmpty() ? "" : allow + " (GPT-2's is then used)"));
    }
    return TokenizerSpec.resolve(Tokenizers.GPT2, conf); // from before tokenizers were recorded, or allowed
  }

  private static String shortHash(String hash) {
    return hash.substring(0, Math.min(12, hash.length())) + "…";
  }

  /**
   * The checkpoint's tokenizer where it is known for sure: a Hugging Face directory's files (GPT-2's vocabulary for a
   * GPT-2 directory without any), or what a SparkGPT checkpoint's state.json records. Empty otherwise: nothing is
   * guessed (for exports, which then write no tokenizer files).
   */
  public static Optional<TokenizerSpec> known(String checkpoint, Configuration conf) {
    Path dir = new Path(checkpoint);
    if (HfCheckpoints.isHfDirectory(dir, conf)) {
      Optional<TokenizerSpec> files = TokenizerSpec.inDirectory(dir, conf);
      return files.isPresent() || !isGpt2(dir, conf) ? files
          : Optional.of(TokenizerSpec.resolve(Tokenizers.GPT2, conf));
    }
    return recorded(checkpoint, conf);
  }

  private static boolean isGpt2(Path hfDir, Configuration conf) {
    return "gpt2".equals(JsonFiles.read(new Path(hfDir, HfGpt2Checkpoint.CONFIG),
        JsonNode.class, conf).path("model_type").asText());
  }

  /** The tokenizer state.json records: a bundled name, or the directory a conversion read it from; checked by hash. */
  private static Optional<TokenizerSpec> recorded(String checkpoint, Configuration conf) {
    Optional<JsonNode> t = Checkpoint.stateOf(checkpoint).map(s -> s.path("tokenizer"));
    if (t.isEmpty() || !t.get().hasNonNull("hash")) {
      return Optional.empty();
    }
    String name = t.get().path("name").asText("");
    String source = t.get().path("source").asText("");
    TokenizerSpec spec = !source.isEmpty() && isDirectory(new Path(source), conf)
        ? TokenizerSpec.inDirectory(new Path(source), conf).orElse(null)
        : Tokenizers.isBuiltIn(name) ? TokenizerSpec.resolve(name, conf) : null;
    if (spec == null) {
      return Optional.empty();
    }
    Tokenizer tok = spec.get();
    return tok.hash().equals(t.get().path("hash").asText()) ? Optional.of(spec) : Optional.empty();
  }

  private static boolean isDirectory(Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf).getFileStatus(p).isDirectory();
    } catch (IOException e) { // FileNotFoundException included: the source moved away
      return false;
    }
  }
}
