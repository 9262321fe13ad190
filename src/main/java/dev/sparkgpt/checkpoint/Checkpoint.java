package dev.sparkgpt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.SafetensorsFormatException;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.TensorInfo;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.HfCheckpoints;
import dev.sparkgpt.model.HfGpt2Checkpoint;
import dev.sparkgpt.model.ParamNames;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The one way to open a checkpoint a user points at, on any Hadoop file system (file:, hdfs:, s3a:, plain paths): a
 * SparkGPT run directory (the step its {@code latest} names), one {@code step-NNNNNN} directory, a LoRA finetune's
 * adapter directory, or a Hugging Face GPT-2/Llama directory (config.json + safetensors). Opening reads only small
 * files; {@link #model} then reads the weights (never the optimizer moments), checking every tensor's shape against
 * the architecture before allocating it; {@link #load} reads weights and moments for a resume.
 */
public final class Checkpoint {
  /** What the directory holds. */
  public enum Kind { SPARKGPT, LORA_ADAPTER, HUGGING_FACE }

  private final String uri;
  private final Path dir;
  private final Kind kind;
  private final JsonNode state;
  private final Configuration conf;

  private Checkpoint(String uri, Path dir, Kind kind, JsonNode state, Configuration conf) {
    this.uri = uri;
    this.dir = dir;
    this.kind = kind;
    this.state = state;
    this.conf = conf;
  }

  /** Opens {@code uri} as given to {@code --checkpoint}, with the default Hadoop configuration. */
  public static Checkpoint open(String uri) {
    return open(uri, HadoopConf.create(), "--checkpoint");
  }

  public static Checkpoint open(String uri, Configuration conf) {
    return open(uri, conf, "--checkpoint");
  }

  /** Opens {@code uri}; {@code option} (e.g. "--checkpoint", "init_from") is what a refusal tells the user to fix. */
  public static Checkpoint open(String uri, Configuration conf, String option) {
    if (uri == null || uri.isBlank()) {
      throw new CheckpointException("no checkpoint given. Fix: set " + option + " to a SparkGPT run or step-NNNNNN "
          + "directory or a Hugging Face GPT-2/Llama directory");
    }
    Path path = new Path(uri);
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path) || !fs.getFileStatus(path).isDirectory()) {
        throw new CheckpointException(uri + ": no such directory. Fix: point " + option + " at a SparkGPT run or "
            + "step-NNNNNN directory or a Hugging Face GPT-2/Llama directory");
      }
      if (HfCheckpoints.isHfDirectory(path, conf)) {
        return new Checkpoint(uri, path, Kind.HUGGING_FACE, null, conf);
      }
      Path step = fs.isFile(new Path(path, CheckpointStore.STATE)) ? path
          : new CheckpointStore(path, conf, 1).latest(System.err).orElse(null);
      if (step == null) {
        throw new CheckpointException(uri + ": not a checkpoint: expected a run directory (with 'latest' or "
            + "step-NNNNNN checkpoints), a step-NNNNNN directory (with state.json) or a Hugging Face GPT-2/Llama "
            + "directory (config.json + model.safetensors). Fix: point " + option + " at one of those");
      }
      JsonNode state = CheckpointStore.readState(step, conf);
      return new Checkpoint(uri, step, state.has("lora") ? Kind.LORA_ADAPTER : Kind.SPARKGPT, state, conf);
    } catch (IOException e) {
      throw new CheckpointException(uri + ": cannot inspect (" + e.getMessage() + ")", e);
    }
  }

  /**
   * The state.json of the SparkGPT checkpoint at {@code uri} (run directory: its latest step), if it is one; empty
   * for a Hugging Face directory or anything that is not a checkpoint (loading it then reports why).
   */
  public static Optional<JsonNode> stateOf(String uri) {
    try {
      return open(uri).state();
    } catch (CheckpointException e) {
      return Optional.empty();
    }
  }

  /** The path as the user gave it. */
  public String uri() {
    return uri;
  }

  /** The directory holding the weights: the step a run directory resolves to, or the directory given. */
  public Path dir() {
    return dir;
  }

  public Kind kind() {
    return kind;
  }

  /** The training step of the checkpoint; -1 for Hugging Face weights. */
  public long step() {
    return state == null ? -1 : state.path("step").asLong();
  }

  /** state.json (absent for a Hugging Face directory). */
  public Optional<JsonNode> state() {
    return Optional.ofNullable(state);
  }

  /** The vocabulary hash recorded with the checkpoint (a Hugging Face directory records none). */
  public Optional<String> tokenizerHash() {
    return state == null ? Optional.empty() : Fingerprints.tokenizerHash(state);
  }

  /** The tokenizer name recorded with the checkpoint, if any. */
  public Optional<String> tokenizerName() {
    return state == null || !state.path("tokenizer").path("name").isTextual() ? Optional.empty()
        : Optional.of(state.path("tokenizer").path("name").asText());
  }

  /** The model for inference: weights only, LoRA adapters merged into their base. */
  public GptModel model() {
    return switch (kind) {
      case HUGGING_FACE -> {
        HfGpt2Checkpoint.Loaded hf = HfCheckpoints.load(dir, conf);
        yield new GptModel(GptParameters.fromMap(hf.config(), hf.weights(), DataType.FLOAT), 0);
      }
      case LORA_ADAPTER -> mergeAdapters(load(false));
      case SPARKGPT -> new GptModel(readWeights(modelConfig()), 0);
    };
  }

  /** The architecture of a SparkGPT checkpoint (state.json's "model" section). */
  public ModelConfig modelConfig() {
    if (state == null) {
      return HfCheckpoints.load(dir, conf).config();
    }
    try {
      return ConfigLoader.yamlMapper().treeToValue(state.path("model"), ModelConfig.class);
    } catch (Exception e) {
      throw new CheckpointException(dir + "/" + CheckpointStore.STATE + ": no usable \"model\" section ("
          + e.getMessage() + ")", e);
    }
  }

  /** Weights and state.json, plus the optimizer moments when {@code withOptimizer} (a resume). */
  public CheckpointState load(boolean withOptimizer) {
    if (kind == Kind.HUGGING_FACE) {
      throw new CheckpointException(uri + " is a Hugging Face directory, which holds no training state. Fix: start"
          + " from its weights with init_from / --base, or convert it with sparkgpt convert hf-to-sparkgpt");
    }
    return CheckpointStore.load(dir, withOptimizer, conf);
  }

  /** Reads model.safetensors into parameters of {@code config}, every shape checked before its tensor is read. */
  private GptParameters readWeights(ModelConfig config) {
    Path file = new Path(dir, CheckpointStore.WEIGHTS);
    Map<String, long[]> expected = ParamNames.shapes(config);
    try (SafetensorsReader reader = SafetensorsReader.open(file, conf)) {
      Set<String> unknown = new TreeSet<>(reader.names());
      unknown.removeAll(expected.keySet());
      Set<String> missing = new TreeSet<>(expected.keySet());
      missing.removeAll(reader.names());
      if (!unknown.isEmpty() || !missing.isEmpty()) {
        throw new CheckpointException(file + ": tensors do not match the model section of state.json"
            + (missing.isEmpty() ? "" : "; missing " + missing) + (unknown.isEmpty() ? "" : "; unexpected " + unknown)
            + ". Fix: use the checkpoint with the state.json it was written with");
      }
      for (Map.Entry<String, long[]> e : expected.entrySet()) {
        TensorInfo info = reader.info(e.getKey());
        if (!Arrays.equals(info.shape(), e.getValue())) {
          throw new CheckpointException(file + ": tensor \"" + e.getKey() + "\" has shape "
              + Arrays.toString(info.shape()) + ", state.json's model implies " + Arrays.toString(e.getValue()));
        }
      }
      GptParameters p = GptParameters.zeros(config, DataType.FLOAT);
      for (String name : expected.keySet()) {
        p.set(name, reader.readArray(name, DataType.FLOAT));      // one tensor at a time beside the parameters
      }
      return p;
    } catch (InputException | SafetensorsFormatException e) {
      throw new CheckpointException(file + ": " + e.getMessage() + ". Fix: use an earlier step-NNNNNN directory", e);
    }
  }

  /**
   * Rebuilds an adapter checkpoint's model: its base with the adapters merged in. Implemented by the finetune package
   * (it knows how a finetune built its base) and found through {@link ServiceLoader}, since it depends on this one.
   */
  public interface AdapterMerger {
    GptModel merge(CheckpointState adapters);
  }

  private static GptModel mergeAdapters(CheckpointState ck) {
    for (AdapterMerger merger : ServiceLoader.load(AdapterMerger.class, Checkpoint.class.getClassLoader())) {
      return merger.merge(ck);
    }
    throw new CheckpointException(ck.dir() + " holds LoRA adapters only, and no merger is on the classpath. Fix: "
        + "sparkgpt merge --checkpoint " + ck.dir() + " --out DIR, then use DIR");
  }
}
