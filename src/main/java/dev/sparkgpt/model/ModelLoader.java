package dev.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.ServiceLoader;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Loads a GPT for inference from what users point at: a SparkGPT run directory (its {@code latest} checkpoint), one
 * {@code step-NNNNNN} checkpoint, or a Hugging Face GPT-2 or Llama directory ({@code config.json} + safetensors,
 * {@link HfCheckpoints}). A LoRA finetune's checkpoint (adapters only, state.json naming its base) is merged on the
 * fly from its base by the {@link AdapterMerger} the finetune package provides.
 */
public final class ModelLoader {
  private ModelLoader() {}

  /** A loaded model and where it came from (for reports: path and step, -1 for Hugging Face weights). */
  public record Loaded(GptModel model, String source, long step) {}

  /**
   * Rebuilds the model of an adapter-only checkpoint (state.json with a "lora" section): its base with the adapters
   * merged in. Implemented by {@code dev.sparkgpt.finetune.LoraMerge} and found through {@link ServiceLoader}
   * (META-INF/services), because LoRA lives in packages that depend on this one.
   */
  public interface AdapterMerger {
    Loaded merge(CheckpointStore.Loaded adapters);
  }

  /**
   * The state.json of a SparkGPT checkpoint at {@code path} (run directory: its latest step; or a step directory), if
   * {@code path} is one; empty for a Hugging Face directory or anything else.
   */
  public static Optional<JsonNode> state(String path) {
    Path dir = Path.of(path);
    if (HfGpt2Checkpoint.isHfDirectory(dir)) {
      return Optional.empty();
    }
    String step = Files.isRegularFile(dir.resolve(CheckpointStore.STATE)) ? dir.toString()
        : Files.isRegularFile(dir.resolve(CheckpointStore.LATEST)) ? dir.resolve(readLatest(dir)).toString() : null;
    if (step == null) {
      return Optional.empty();
    }
    return Optional.of(dev.sparkgpt.io.JsonFiles.read(new org.apache.hadoop.fs.Path(step, CheckpointStore.STATE),
        JsonNode.class, HadoopConf.create()));
  }

  /**
   * The vocabulary hash recorded with a SparkGPT checkpoint at {@code path} (run or step directory), if any. A Hugging
   * Face directory records none.
   */
  public static Optional<String> tokenizerHash(String path) {
    return state(path).map(s -> s.path("tokenizer").path("hash").asText("")).filter(hash -> !hash.isEmpty());
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
    CheckpointStore.Loaded ck = checkpoint(path, option);
    if (ck.state().has("lora")) {
      return mergeAdapters(ck);
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

  /** The SparkGPT checkpoint at {@code path}: a run directory (its latest step) or a step-NNNNNN directory. */
  public static CheckpointStore.Loaded checkpoint(String path) {
    return checkpoint(path, "--checkpoint");
  }

  private static CheckpointStore.Loaded checkpoint(String path, String option) {
    Path dir = Path.of(path);
    if (Files.isRegularFile(dir.resolve(CheckpointStore.STATE))) {
      return new CheckpointStore(dir.getParent() == null ? "." : dir.getParent().toString(), HadoopConf.create(), 1)
          .load(new org.apache.hadoop.fs.Path(dir.toAbsolutePath().toString()));
    }
    if (Files.isRegularFile(dir.resolve(CheckpointStore.LATEST))) {
      return new CheckpointStore(path, HadoopConf.create(), 1).loadLatest().orElseThrow();
    }
    throw new CheckpointException(path + ": not a checkpoint: expected a run directory (with 'latest'), a "
        + "step-NNNNNN directory (with state.json) or a Hugging Face GPT-2/Llama directory (config.json + "
        + "model.safetensors). Fix: point " + option + " at one of those");
  }

  private static Loaded mergeAdapters(CheckpointStore.Loaded ck) {
    for (AdapterMerger merger : ServiceLoader.load(AdapterMerger.class, ModelLoader.class.getClassLoader())) {
      return merger.merge(ck);
    }
    throw new CheckpointException(ck.dir() + " holds LoRA adapters only, and no merger is on the classpath. Fix: "
        + "sparkgpt merge --checkpoint " + ck.dir() + " --out DIR, then use DIR");
  }
}
