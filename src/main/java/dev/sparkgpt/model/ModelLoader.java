package dev.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Loads a GPT for inference from what users point at: a SparkGPT run directory (its {@code latest} checkpoint), one
 * {@code step-NNNNNN} checkpoint, or a Hugging Face GPT-2 or Llama directory ({@code config.json} + safetensors,
 * {@link HfCheckpoints}).
 */
public final class ModelLoader {
  private ModelLoader() {}

  /** A loaded model and where it came from (for reports: path and step, -1 for Hugging Face weights). */
  public record Loaded(GptModel model, String source, long step) {}

  /**
   * The vocabulary hash recorded with a SparkGPT checkpoint at {@code path} (run or step directory), if any. A Hugging
   * Face directory records none.
   */
  public static java.util.Optional<String> tokenizerHash(String path) {
    Path dir = Path.of(path);
    if (HfGpt2Checkpoint.isHfDirectory(dir)) {
      return java.util.Optional.empty();
    }
    String step = Files.isRegularFile(dir.resolve(CheckpointStore.STATE)) ? dir.toString()
        : Files.isRegularFile(dir.resolve(CheckpointStore.LATEST)) ? dir.resolve(readLatest(dir)).toString() : null;
    if (step == null) {
      return java.util.Optional.empty();
    }
    JsonNode state = dev.sparkgpt.io.JsonFiles.read(new org.apache.hadoop.fs.Path(step, CheckpointStore.STATE),
        JsonNode.class, HadoopConf.create());
    String hash = state.path("tokenizer").path("hash").asText("");
    return hash.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(hash);
  }

  private static String readLatest(Path dir) {
    try {
      return Files.readString(dir.resolve(CheckpointStore.LATEST)).strip();
    } catch (java.io.IOException e) {
      throw new CheckpointException(dir + "/" + CheckpointStore.LATEST + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Loads {@code path} as given to {@code --checkpoint}. */
  public static Loaded load(String path) {
    return load(path, "--checkpoint");
  }

  /** Loads {@code path}; {@code option} (e.g. "--checkpoint", "init_from") is what a refusal tells the user to fix. */
  public static Loaded load(String path, String option) {
    Path dir = Path.of(path);
    if (!Files.isDirectory(dir)) {
      throw new CheckpointException(path + ": no such directory. Fix: point " + option + " at a SparkGPT run or "
          + "step-NNNNNN directory or a Hugging Face GPT-2/Llama directory");
    }
    if (HfGpt2Checkpoint.isHfDirectory(dir)) {
      HfGpt2Checkpoint.Loaded hf = HfCheckpoints.load(dir);
      return new Loaded(new GptModel(GptParameters.fromMap(hf.config(), hf.weights(), DataType.FLOAT), 0), path, -1);
    }
    CheckpointStore.Loaded ck;
    if (Files.isRegularFile(dir.resolve(CheckpointStore.STATE))) {
      ck = new CheckpointStore(dir.getParent() == null ? "." : dir.getParent().toString(), HadoopConf.create(), 1)
          .load(new org.apache.hadoop.fs.Path(dir.toAbsolutePath().toString()));
    } else if (Files.isRegularFile(dir.resolve(CheckpointStore.LATEST))) {
      ck = new CheckpointStore(path, HadoopConf.create(), 1).loadLatest().orElseThrow();
    } else {
      throw new CheckpointException(path + ": not a checkpoint: expected a run directory (with 'latest'), a "
          + "step-NNNNNN directory (with state.json) or a Hugging Face GPT-2/Llama directory (config.json + "
          + "model.safetensors). Fix: point " + option + " at one of those");
    }
    JsonNode model = ck.state().path("model");
    ModelConfig config;
    try {
      config = ConfigLoader.yamlMapper().treeToValue(model, ModelConfig.class);
    } catch (Exception e) {
      throw new CheckpointException(ck.dir() + "/" + CheckpointStore.STATE + ": no usable \"model\" section ("
          + e.getMessage() + ")", e);
    }
    try {
      return new Loaded(new GptModel(GptParameters.fromMap(config, ck.weights(), DataType.FLOAT), 0),
          ck.dir().toString(), ck.step());
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(ck.dir() + "/" + CheckpointStore.WEIGHTS + ": " + e.getMessage(), e);
    }
  }
}
