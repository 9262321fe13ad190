package dev.sparkgpt.checkpoint;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.HfCheckpoints;
import dev.sparkgpt.model.HfGpt2Checkpoint;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Checkpoints between the interchange format and ours: a Hugging Face GPT-2 or Llama directory becomes a SparkGPT
 * run directory (one checkpoint, step 0, no optimizer state, the GPT-2 tokenizer recorded for GPT-2) that generate,
 * eval and forward load like any run; any checkpoint {@link Checkpoint#open} reads becomes a Hugging Face directory that
 * transformers' GPT2LMHeadModel or LlamaForCausalLM loads. Neither writes into a directory that already holds
 * something, and neither leaves a half-written result: both write beside the target and rename.
 */
public final class CheckpointConversion {
  private CheckpointConversion() {}

  /** HF GPT-2 or Llama directory → SparkGPT run directory {@code to}; returns the checkpoint's directory. */
  public static org.apache.hadoop.fs.Path hfToSparkGpt(String from, String to) {
    Configuration conf = HadoopConf.create();
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(from);
    if (!HfCheckpoints.isHfDirectory(dir, conf)) {
      throw new InputException(from + ": not a Hugging Face checkpoint (config.json + model.safetensors or "
          + "model.safetensors.index.json). Fix: point --from at the model's directory");
    }
    refuseNonEmpty(to, conf);
    HfGpt2Checkpoint.Loaded hf = HfCheckpoints.load(dir, conf);
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("tokens_seen", 0);
    state.put("model", ModelConfigs.describe(hf.config()));
    String source = qualified(dir, conf);
    Optional<TokenizerSpec> own = TokenizerSpec.inDirectory(new org.apache.hadoop.fs.Path(source), conf);
    if (own.isPresent()) { // recorded with where it lies, so generate and eval find it again (CheckpointTokenizer)
      Tokenizer t = own.get().get();
      state.put("tokenizer", Map.of("name", t.name(), "hash", t.hash(), "source", source));
    } else if (hf.config().hasGpt2Architecture()) { // GPT-2's architecture without files: GPT-2's vocabulary
      Tokenizer gpt2 = Tokenizers.load("gpt2");
      state.put("tokenizer", Fingerprints.tokenizer(gpt2));
    }
    state.put("converted_from", qualified(dir, conf));
    return new CheckpointStore(to, conf, 1).save(0, hf.weights(), Map.of(), state);
  }

  /** Files written into the Hugging Face directory beside the weights (the tokenizer's), before it is renamed. */
  public interface ExtraFiles {
    void write(Path dir, ModelConfig config) throws IOException;
  }

  /** A SparkGPT run/step directory (or an HF directory) → HF GPT-2 or Llama directory {@code to} ({@code dtype}). */
  public static void sparkGptToHf(String from, Path to, SafetensorsDtype dtype) {
    sparkGptToHf(from, to, dtype, (dir, config) -> { });
  }

  /** As {@link #sparkGptToHf(String, Path, SafetensorsDtype)}, with {@code extra} files written in the same step. */
  public static void sparkGptToHf(String from, Path to, SafetensorsDtype dtype, ExtraFiles extra) {
    refuseNonEmpty(to.toString(), HadoopConf.create());
    GptParameters p = Checkpoint.open(from, HadoopConf.create(), "--from").model().parameters();
    Path staging = to.toAbsolutePath().resolveSibling("." + to.getFileName() + ".staging-" + UUID.randomUUID());
    try {
      HfCheckpoints.save(staging, p.config(), p.toMap(DataType.FLOAT), dtype);
      extra.write(staging, p.config());
      Files.deleteIfExists(to); // an empty directory, checked above
      Files.move(staging, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(staging);
      if (e instanceof dev.sparkgpt.SparkGptException se) { // says what to fix already (a checkpoint, a tokenizer)
        throw se;
      }
      throw new CheckpointException(to + ": cannot write the Hugging Face checkpoint: " + e.getMessage()
          + ". Fix: check free space and permissions", e);
    }
  }

  private static String qualified(org.apache.hadoop.fs.Path dir, Configuration conf) {
    try {
      return dir.getFileSystem(conf).makeQualified(dir).toString();
    } catch (IOException e) {
      return dir.toString();
    }
  }

  private static void refuseNonEmpty(String target, Configuration conf) {
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(target);
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (fs.exists(path) && (!fs.getFileStatus(path).isDirectory() || fs.listStatus(path).length > 0)) {
        throw new InputException(target + ": already exists and is not empty. Fix: choose a new --to directory");
      }
    } catch (IOException e) {
      throw new InputException(target + ": cannot inspect: " + e.getMessage(), e);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a hidden staging name: a leftover never looks like a checkpoint
    }
  }
}
