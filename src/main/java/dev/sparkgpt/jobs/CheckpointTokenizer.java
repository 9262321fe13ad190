package dev.sparkgpt.jobs;

import dev.sparkgpt.checkpoint.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.HfGpt2Checkpoint;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;

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
    Path dir = Path.of(checkpoint);
    boolean hf = HfGpt2Checkpoint.isHfDirectory(dir);
    Optional<TokenizerSpec> own = hf ? TokenizerSpec.inDirectory(new org.apache.hadoop.fs.Path(checkpoint), conf)
        : recorded(checkpoint, conf);
    Optional<JsonNode> record = hf ? Optional.empty()
        : Checkpoint.stateOf(checkpoint).map(s -> s.path("tokenizer")).filter(t -> t.hasNonNull("hash"));
    if (spec != null && !spec.isBlank() && !spec.equals(AUTO)) {
      TokenizerSpec given = TokenizerSpec.resolve(spec, conf);
      String expected = own.map(s -> s.get().hash()).orElse(record.map(r -> r.path("hash").asText()).orElse(null));
      if (expected != null && !expected.equals(given.get().hash())) {
        throw new ConfigException(option, spec + " (hash " + given.get().hash().substring(0, 12) + "…) is not the"
            + " tokenizer " + checkpoint + " was made with (hash " + expected.substring(0, Math.min(12,
            expected.length())) + "…)", "leave " + option + " unset (or '" + AUTO + "') to use the checkpoint's own");
      }
      return given;
    }
    if (own.isPresent()) {
      return own.get();
    }
    if (hf) {
      if (isGpt2(checkpoint, conf)) {
        return TokenizerSpec.resolve(Tokenizers.GPT2, conf); // GPT-2's architecture comes with GPT-2's vocabulary
      }
      throw new ConfigException(option, checkpoint + " holds no tokenizer SparkGPT reads (" + TokenizerSpec.DIR_FILES
          + (Files.exists(dir.resolve(TokenizerSpec.SENTENCEPIECE)) ? "; its SentencePiece "
          + TokenizerSpec.SENTENCEPIECE + " is not read by SparkGPT" : "") + ")",
          "pass " + option + " with the model's tokenizer: a bundled name (" + Tokenizers.BUILT_IN + ") or a "
          + "directory holding " + TokenizerSpec.DIR_FILES);
    }
    if (record.isPresent()) {
      throw new ConfigException(option, checkpoint + " was made with tokenizer '" + record.get().path("name").asText()
          + "' (hash " + record.get().path("hash").asText().substring(0, 12) + "…), which it does not say where to"
          + " find", "pass " + option + " with that tokenizer's directory");
    }
    return TokenizerSpec.resolve(Tokenizers.GPT2, conf); // a checkpoint from before tokenizers were recorded
  }

  /**
   * The checkpoint's tokenizer where it is known for sure: a Hugging Face directory's files (GPT-2's vocabulary for a
   * GPT-2 directory without any), or what a SparkGPT checkpoint's state.json records. Empty otherwise: nothing is
   * guessed (for exports, which then write no tokenizer files).
   */
  public static Optional<TokenizerSpec> known(String checkpoint, Configuration conf) {
    if (HfGpt2Checkpoint.isHfDirectory(Path.of(checkpoint))) {
      Optional<TokenizerSpec> files = TokenizerSpec.inDirectory(new org.apache.hadoop.fs.Path(checkpoint), conf);
      return files.isPresent() || !isGpt2(checkpoint, conf) ? files
          : Optional.of(TokenizerSpec.resolve(Tokenizers.GPT2, conf));
    }
    return recorded(checkpoint, conf);
  }

  private static boolean isGpt2(String hfDir, Configuration conf) {
    return "gpt2".equals(JsonFiles.read(new org.apache.hadoop.fs.Path(hfDir, HfGpt2Checkpoint.CONFIG),
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
    TokenizerSpec spec = !source.isEmpty() && Files.isDirectory(Path.of(source))
        ? TokenizerSpec.inDirectory(new org.apache.hadoop.fs.Path(source), conf).orElse(null)
        : Tokenizers.isBuiltIn(name) ? TokenizerSpec.resolve(name, conf) : null;
    if (spec == null) {
      return Optional.empty();
    }
    Tokenizer tok = spec.get();
    return tok.hash().equals(t.get().path("hash").asText()) ? Optional.of(spec) : Optional.empty();
  }
}
