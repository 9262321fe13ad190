package dev.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.sparkgpt.io.HadoopConf;
import org.apache.hadoop.conf.Configuration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Hugging Face {@code GPT2LMHeadModel} checkpoints ({@code config.json} + {@code model.safetensors}, or a sharded
 * index) in and out. Accepts names with or without the {@code transformer.} prefix, skips the {@code attn.bias} /
 * {@code masked_bias} buffers, reads F32/F16/BF16, takes a separate {@code lm_head.weight} as an untied head.
 * GPT-2's Conv1D weights are [in, out], as ours, and c_attn packs q|k|v along its output, as our fused qkv.
 */
public final class HfGpt2Checkpoint {
  public static final String CONFIG = "config.json";

  private HfGpt2Checkpoint() {}

  /** A model's config and weights under SparkGPT's names ({@link ParamNames}). */
  public record Loaded(ModelConfig config, Map<String, INDArray> weights) {}

  /** Whether {@code dir} looks like a Hugging Face GPT-2 directory. */
  public static boolean isHfDirectory(Path dir) {
    return Files.isRegularFile(dir.resolve(CONFIG)) && (Files.isRegularFile(dir.resolve(SafetensorsReader.MODEL_FILE))
        || Files.isRegularFile(dir.resolve(SafetensorsReader.INDEX_FILE)));
  }

  /** The model config of an HF {@code config.json} (GPT-2 keys); unknown architectures are refused by name. */
  public static ModelConfig readConfig(Path dir) {
    return readConfig(HfCheckpoints.readConfigJson(HfCheckpoints.hadoopPath(dir), HadoopConf.create()),
        dir.resolve(CONFIG).toString());
  }

  /** As {@link #readConfig(Path)}, from the parsed config.json ({@code file} names it in messages). */
  static ModelConfig readConfig(JsonNode c, String file) {
    String type = c.path("model_type").asText("");
    if (!"gpt2".equals(type)) {
      throw new CheckpointException(file + ": model_type \"" + type + "\" (architectures " + c.path("architectures")
          + ") is not supported; this loader reads GPT-2 (GPT2LMHeadModel). Fix: convert a GPT-2 checkpoint");
    }
    String activation = c.path("activation_function").asText("gelu_new");
    if (!activation.equals("gelu_new") && !activation.equals("gelu_pytorch_tanh")) {
      throw new CheckpointException(file + ": activation_function \"" + activation + "\" is not supported (only the"
          + " tanh GELU of GPT-2, gelu_new)");
    }
    int embd = required(c, "n_embd", file);
    JsonNode inner = c.path("n_inner");
    if (!inner.isMissingNode() && !inner.isNull() && inner.asInt() != 4 * embd) {
      throw new CheckpointException(file + ": n_inner " + inner.asInt() + " ≠ 4·n_embd; only GPT-2's 4× MLP is"
          + " supported");
    }
    int positions = c.has("n_positions") ? c.get("n_positions").asInt() : required(c, "n_ctx", file);
    return new ModelConfig(required(c, "vocab_size", file), positions, embd, required(c, "n_head", file),
        required(c, "n_layer", file), c.path("resid_pdrop").asDouble(0.0), true,
        c.path("tie_word_embeddings").asBoolean(true), 0, ModelConfig.LAYERNORM,
        c.path("layer_norm_epsilon").asDouble(1e-5), null, null, null, null, null, null);
  }

  private static int required(JsonNode c, String key, String file) {
    if (!c.path(key).canConvertToInt()) {
      throw new CheckpointException(file + ": missing integer \"" + key + "\"");
    }
    return c.get(key).asInt();
  }

  /** SparkGPT name of an HF tensor name (prefix already removed), or null for buffers that carry no weights. */
  static String toOurs(String hf) {
    if (hf.endsWith(".attn.bias") || hf.endsWith(".attn.masked_bias")) {
      return null;
    }
    switch (hf) {
      case "wte.weight": return ParamNames.TOKEN_EMBEDDING;
      case "wpe.weight": return ParamNames.POSITION_EMBEDDING;
      case "ln_f.weight": return ParamNames.FINAL_NORM_SCALE;
      case "ln_f.bias": return ParamNames.FINAL_NORM_SHIFT;
      case "lm_head.weight": return ParamNames.OUT_HEAD;
      default: break;
    }
    if (!hf.startsWith("h.")) {
      return "?" + hf;
    }
    int dot = hf.indexOf('.', 2);
    int layer = Integer.parseInt(hf.substring(2, dot));
    String rest = hf.substring(dot + 1);
    String suffix = switch (rest) {
      case "ln_1.weight" -> ParamNames.NORM1_SCALE;
      case "ln_1.bias" -> ParamNames.NORM1_SHIFT;
      case "attn.c_attn.weight" -> ParamNames.QKV_WEIGHT;
      case "attn.c_attn.bias" -> ParamNames.QKV_BIAS;
      case "attn.c_proj.weight" -> ParamNames.ATTENTION_OUT_WEIGHT;
      case "attn.c_proj.bias" -> ParamNames.ATTENTION_OUT_BIAS;
      case "ln_2.weight" -> ParamNames.NORM2_SCALE;
      case "ln_2.bias" -> ParamNames.NORM2_SHIFT;
      case "mlp.c_fc.weight" -> ParamNames.FF_UP_WEIGHT;
      case "mlp.c_fc.bias" -> ParamNames.FF_UP_BIAS;
      case "mlp.c_proj.weight" -> ParamNames.FF_DOWN_WEIGHT;
      case "mlp.c_proj.bias" -> ParamNames.FF_DOWN_BIAS;
      default -> null;
    };
    return suffix == null ? "?" + hf : ParamNames.block(layer, suffix);
  }

  /** HF name of one of our parameters. */
  static String toHf(String ours) {
    return switch (ours) {
      case ParamNames.TOKEN_EMBEDDING -> "wte.weight";
      case ParamNames.POSITION_EMBEDDING -> "wpe.weight";
      case ParamNames.FINAL_NORM_SCALE -> "ln_f.weight";
      case ParamNames.FINAL_NORM_SHIFT -> "ln_f.bias";
      case ParamNames.OUT_HEAD -> "lm_head.weight";
      default -> {
        String[] parts = ours.split("\\.", 3); // trf_blocks, N, suffix
        String hf = switch (parts[2]) {
          case ParamNames.NORM1_SCALE -> "ln_1.weight";
          case ParamNames.NORM1_SHIFT -> "ln_1.bias";
          case ParamNames.QKV_WEIGHT -> "attn.c_attn.weight";
          case ParamNames.QKV_BIAS -> "attn.c_attn.bias";
          case ParamNames.ATTENTION_OUT_WEIGHT -> "attn.c_proj.weight";
          case ParamNames.ATTENTION_OUT_BIAS -> "attn.c_proj.bias";
          case ParamNames.NORM2_SCALE -> "ln_2.weight";
          case ParamNames.NORM2_SHIFT -> "ln_2.bias";
          case ParamNames.FF_UP_WEIGHT -> "mlp.c_fc.weight";
          case ParamNames.FF_UP_BIAS -> "mlp.c_fc.bias";
          case ParamNames.FF_DOWN_WEIGHT -> "mlp.c_proj.weight";
          case ParamNames.FF_DOWN_BIAS -> "mlp.c_proj.bias";
          default -> throw new IllegalArgumentException("no Hugging Face name for " + ours);
        };
        yield "h." + parts[1] + "." + hf;
      }
    };
  }

  /**
   * Loads an HF GPT-2 directory as float32 weights under our names. Every expected tensor must be present with its
   * shape; missing ones are all named at once, a wrong shape names the tensor, the file and both shapes.
   */
  public static Loaded load(Path dir) {
    return load(HfCheckpoints.hadoopPath(dir), HadoopConf.create());
  }

  /** As {@link #load(Path)}, for a directory on any Hadoop file system (file:, hdfs:, s3a:). */
  public static Loaded load(org.apache.hadoop.fs.Path dir, Configuration conf) {
    ModelConfig config = readConfig(HfCheckpoints.readConfigJson(dir, conf), new org.apache.hadoop.fs.Path(dir, CONFIG)
        .toString());
    Map<String, long[]> expected = ParamNames.shapes(config);
    Map<String, INDArray> weights = new LinkedHashMap<>();
    boolean hasHead = false;
    try (SafetensorsReader reader = SafetensorsReader.open(dir, conf)) {
      List<String> unknown = new ArrayList<>();
      for (String name : reader.names()) {
        String hf = name.startsWith("transformer.") ? name.substring("transformer.".length()) : name;
        String ours = toOurs(hf);
        if (ours == null) {
          continue;
        }
        if (ours.startsWith("?")) {
          unknown.add(name);
          continue;
        }
        if (ours.equals(ParamNames.OUT_HEAD)) {
          hasHead = true;
        }
        TensorInfo info = reader.info(name);
        long[] want = ours.equals(ParamNames.OUT_HEAD)
            ? new long[] {config.vocabSize(), config.embeddingDim()} : expected.get(ours);
        if (want == null) {
          unknown.add(name);
          continue;
        }
        if (!Arrays.equals(want, info.shape())) {
          throw new CheckpointException(reader.source() + ": tensor \"" + name + "\" has shape "
              + Arrays.toString(info.shape()) + ", config.json implies " + Arrays.toString(want));
        }
        weights.put(ours, HfCheckpoints.readWeight(reader, name));
      }
      if (!unknown.isEmpty()) {
        throw new CheckpointException(reader.source() + ": tensors that are not part of GPT-2: " + unknown
            + ". Fix: is this a GPT-2 checkpoint?");
      }
    }
    ModelConfig actual = config;
    if (hasHead && config.tieEmbeddings()) {
      // a separate lm_head although config.json says tied: tied only if the values are equal
      if (weights.get(ParamNames.OUT_HEAD).equals(weights.get(ParamNames.TOKEN_EMBEDDING))) {
        weights.remove(ParamNames.OUT_HEAD);
      } else {
        actual = config.withTiedEmbeddings(false);
      }
    }
    Set<String> missing = new TreeSet<>(ParamNames.shapes(actual).keySet());
    missing.removeAll(weights.keySet());
    if (!missing.isEmpty()) {
      List<String> hfNames = new ArrayList<>();
      missing.forEach(m -> hfNames.add(toHf(m)));
      throw new CheckpointException(dir + ": missing tensors " + hfNames + " (SparkGPT names " + missing + ")");
    }
    return new Loaded(actual, weights);
  }

  /** The config.json {@code torch_dtype} of a stored dtype (F32, F16 or BF16). */
  static String torchDtype(SafetensorsDtype dtype) {
    return switch (dtype) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
      default -> throw new IllegalArgumentException("Hugging Face export stores F32, F16 or BF16, not " + dtype);
    };
  }

  /** Writes {@code config.json} + {@code model.safetensors} as transformers' GPT2LMHeadModel expects them. */
  public static void save(Path dir, ModelConfig config, Map<String, INDArray> weights) {
    save(dir, config, weights, SafetensorsDtype.F32);
  }

  /** As {@link #save(Path, ModelConfig, Map)} with tensors stored as {@code dtype} (F32, F16 or BF16). */
  public static void save(Path dir, ModelConfig config, Map<String, INDArray> weights, SafetensorsDtype dtype) {
    if (!config.hasGpt2Architecture()) {
      throw new CheckpointException(dir + ": " + config + " is not GPT-2's architecture. Fix: export it with "
          + "HfCheckpoints.save, which writes Llama's layout for a Llama config");
    }
    if (config.numClasses() > 0) {
      throw new CheckpointException(dir + ": a classifier (num_classes=" + config.numClasses() + ") has no GPT-2 "
          + "language-model head to export. Fix: export the pretrained model it was finetuned from");
    }
    ObjectNode c = JsonFiles.MAPPER.createObjectNode();
    c.putArray("architectures").add("GPT2LMHeadModel");
    c.put("model_type", "gpt2");
    c.put("vocab_size", config.vocabSize());
    c.put("n_positions", config.contextLength());
    c.put("n_ctx", config.contextLength());
    c.put("n_embd", config.embeddingDim());
    c.put("n_layer", config.numLayers());
    c.put("n_head", config.numHeads());
    c.putNull("n_inner");
    c.put("activation_function", "gelu_new");
    c.put("layer_norm_epsilon", config.normEps());
    c.put("resid_pdrop", config.dropRate());
    c.put("embd_pdrop", config.dropRate());
    c.put("attn_pdrop", config.dropRate());
    c.put("initializer_range", 0.02);
    c.put("bos_token_id", 50256);
    c.put("eos_token_id", 50256);
    c.put("tie_word_embeddings", config.tieEmbeddings());
    Map<String, INDArray> hf = new LinkedHashMap<>();
    weights.forEach((name, value) -> hf.put(toHf(name), value));
    if (!config.qkvBias()) { // GPT-2 always has a c_attn bias: zeros compute the same as none
      for (int layer = 0; layer < config.numLayers(); layer++) {
        hf.put(toHf(ParamNames.block(layer, ParamNames.QKV_BIAS)), Nd4j.zeros(DataType.FLOAT,
            3L * config.embeddingDim()));
      }
    }
    HfCheckpoints.write(dir, c, hf, dtype);
  }
}
