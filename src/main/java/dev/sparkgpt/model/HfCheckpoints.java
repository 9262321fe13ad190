package dev.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.sparkgpt.io.AtomicFiles;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Hugging Face checkpoint directories of either supported architecture: config.json's {@code architectures} /
 * {@code model_type} picks {@link HfGpt2Checkpoint} (GPT2LMHeadModel, gpt2) or {@link HfLlamaCheckpoint}
 * (LlamaForCausalLM, llama); anything else is refused by name. Export picks the layout from the model config.
 */
public final class HfCheckpoints {
  /** The architectures the loaders read, as named in a refusal. */
  static final String SUPPORTED = "GPT2LMHeadModel (model_type gpt2), LlamaForCausalLM (model_type llama)";

  private HfCheckpoints() {}

  /** Loads {@code dir} (config.json + safetensors) as float32 weights under our names. */
  public static HfGpt2Checkpoint.Loaded load(Path dir) {
    return load(hadoopPath(dir), HadoopConf.create());
  }

  /** As {@link #load(Path)}, for a directory on any Hadoop file system (file:, hdfs:, s3a:). */
  public static HfGpt2Checkpoint.Loaded load(org.apache.hadoop.fs.Path dir, Configuration conf) {
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir, HfGpt2Checkpoint.CONFIG);
    JsonNode c = readConfigJson(dir, conf);
    String type = c.path("model_type").asText("");
    String architectures = c.path("architectures").toString();
    if (type.equals("gpt2") || architectures.contains("\"GPT2LMHeadModel\"")) {
      return HfGpt2Checkpoint.load(dir, conf);
    }
    if (type.equals(HfLlamaCheckpoint.MODEL_TYPE) || architectures.contains("\"" + HfLlamaCheckpoint.ARCHITECTURE
        + "\"")) {
      return HfLlamaCheckpoint.load(dir, c, conf);
    }
    throw new CheckpointException(file + ": architecture " + (architectures.equals("") ? "(none)" : architectures)
        + " with model_type \"" + type + "\" is not supported; supported: " + SUPPORTED);
  }

  /**
   * Tensor {@code name} of {@code reader} as float32. A weight stored as an integer or BOOL dtype (a quantized or
   * foreign checkpoint) is refused by name and dtype: converting such codes to float would load garbage silently.
   */
  static INDArray readWeight(SafetensorsReader reader, String name) {
    SafetensorsDtype dtype = reader.info(name).dtype();
    if (!dtype.isFloatingPoint()) {
      throw new CheckpointException(reader.source() + ": tensor \"" + name + "\" is stored as " + dtype + ", not a "
          + "floating-point dtype; weights must be F32, F16, BF16 or F64 (quantized checkpoints are not supported)."
          + " Fix: save the model again unquantized, e.g. with torch_dtype float16 or float32");
    }
    return reader.readArray(name, DataType.FLOAT);
  }

  /** The parsed {@code config.json} of {@code dir}. */
  static JsonNode readConfigJson(org.apache.hadoop.fs.Path dir, Configuration conf) {
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir, HfGpt2Checkpoint.CONFIG);
    try {
      JsonNode c = JsonFiles.MAPPER.readTree(AtomicFiles.readText(file, conf));
      if (c == null || !c.isObject()) {
        throw new CheckpointException(file + ": not a JSON object. Fix: point at a Hugging Face model directory");
      }
      return c;
    } catch (IOException e) {
      throw new CheckpointException(file + ": unreadable (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Whether {@code dir} (any Hadoop file system) is a Hugging Face directory: config.json plus model.safetensors or
   * a sharded index.
   */
  public static boolean isHfDirectory(org.apache.hadoop.fs.Path dir, Configuration conf) {
    try {
      FileSystem fs = dir.getFileSystem(conf);
      return fs.isFile(new org.apache.hadoop.fs.Path(dir, HfGpt2Checkpoint.CONFIG))
          && (fs.isFile(new org.apache.hadoop.fs.Path(dir, SafetensorsReader.MODEL_FILE))
          || fs.isFile(new org.apache.hadoop.fs.Path(dir, SafetensorsReader.INDEX_FILE)));
    } catch (IOException e) {
      throw new CheckpointException(dir + ": cannot inspect (" + e.getMessage() + ")", e);
    }
  }

  /** A local directory as the Hadoop path that names it the same way in messages. */
  static org.apache.hadoop.fs.Path hadoopPath(Path dir) {
    return new org.apache.hadoop.fs.Path(dir.toString());
  }

  /**
   * Writes {@code config} (plus its {@code torch_dtype}) as config.json and {@code tensors} (Hugging Face names) as
   * model.safetensors in {@code dtype} into {@code dir}.
   */
  static void write(Path dir, ObjectNode config, Map<String, INDArray> tensors, SafetensorsDtype dtype) {
    config.put("torch_dtype", HfGpt2Checkpoint.torchDtype(dtype));
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(HfGpt2Checkpoint.CONFIG),
          JsonFiles.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config));
      SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "pt");
      tensors.forEach((name, value) -> w.add(name, value, dtype));
      w.write(dir.resolve(SafetensorsReader.MODEL_FILE));
    } catch (IOException e) {
      throw new CheckpointException(dir + ": cannot write Hugging Face checkpoint: " + e.getMessage(), e);
    }
  }

  /** Writes {@code weights} (our names) as a GPT-2 or Llama Hugging Face directory, as {@code config} is. */
  public static void save(Path dir, ModelConfig config, Map<String, INDArray> weights, SafetensorsDtype dtype) {
    if (config.hasGpt2Architecture()) {
      HfGpt2Checkpoint.save(dir, config, weights, dtype);
    } else {
      HfLlamaCheckpoint.save(dir, config, weights, dtype);
    }
  }
}
