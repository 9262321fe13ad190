package dev.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Hugging Face {@code LlamaForCausalLM} checkpoints in and out: {@code model.embed_tokens},
 * {@code model.layers.N.self_attn.{q,k,v,o}_proj}, {@code model.layers.N.mlp.{gate,up,down}_proj},
 * {@code model.layers.N.{input,post_attention}_layernorm}, {@code model.norm}, {@code lm_head}. Linear weights are
 * torch's [out, in], ours [in, out], so each is transposed; q, k and v go side by side into our fused qkv columns.
 * The stored q/k rows are already in the rotate_half order our RoPE uses, so no permutation is undone.
 */
final class HfLlamaCheckpoint {
  static final String MODEL_TYPE = "llama";
  static final String ARCHITECTURE = "LlamaForCausalLM";

  private HfLlamaCheckpoint() {}

  /** The model config of a Llama {@code config.json}; options this model lacks are refused by name. */
  static ModelConfig readConfig(JsonNode c, String file) {
    for (String flag : new String[] {"attention_bias", "mlp_bias"}) {
      if (c.path(flag).asBoolean(false)) {
        throw new CheckpointException(file + ": " + flag + " true is not supported (Llama has no biases)");
      }
    }
    String activation = c.path("hidden_act").asText("silu");
    if (!activation.equals("silu")) {
      throw new CheckpointException(file + ": hidden_act \"" + activation + "\" is not supported (only SwiGLU's silu)");
    }
    if (!c.path("rope_scaling").isMissingNode() && !c.path("rope_scaling").isNull()) {
      throw new CheckpointException(file + ": rope_scaling " + c.get("rope_scaling") + " is not supported (plain RoPE "
          + "only: Llama 2, Llama 3.0). Fix: convert a checkpoint without rope_scaling");
    }
    int hidden = required(c, "hidden_size", file);
    int heads = required(c, "num_attention_heads", file);
    if (c.has("head_dim") && c.get("head_dim").asInt() * heads != hidden) {
      throw new CheckpointException(file + ": head_dim " + c.get("head_dim").asInt() + " × " + heads + " heads ≠ "
          + "hidden_size " + hidden + "; only head_dim = hidden_size / num_attention_heads is supported");
    }
    int kvHeads = c.path("num_key_value_heads").canConvertToInt() ? c.get("num_key_value_heads").asInt() : heads;
    return new ModelConfig(required(c, "vocab_size", file), required(c, "max_position_embeddings", file), hidden,
        heads, required(c, "num_hidden_layers", file), 0.0, false, c.path("tie_word_embeddings").asBoolean(false), 0,
        ModelConfig.RMSNORM, c.path("rms_norm_eps").asDouble(1e-6), ModelConfig.SWIGLU,
        required(c, "intermediate_size", file), ModelConfig.ROPE, c.path("rope_theta").asDouble(10000.0), kvHeads,
        false);
  }

  private static int required(JsonNode c, String key, String file) {
    if (!c.path(key).canConvertToInt()) {
      throw new CheckpointException(file + ": missing integer \"" + key + "\"");
    }
    return c.get(key).asInt();
  }

  /** Every HF tensor of {@code config} with its HF shape, in file order. */
  static Map<String, long[]> hfShapes(ModelConfig config) {
    long c = config.embeddingDim();
    long d = config.headDim();
    long hidden = config.hiddenDim();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("model.embed_tokens.weight", new long[] {config.vocabSize(), c});
    for (int i = 0; i < config.numLayers(); i++) {
      String layer = "model.layers." + i + ".";
      shapes.put(layer + "self_attn.q_proj.weight", new long[] {config.numHeads() * d, c});
      shapes.put(layer + "self_attn.k_proj.weight", new long[] {config.numKvGroups() * d, c});
      shapes.put(layer + "self_attn.v_proj.weight", new long[] {config.numKvGroups() * d, c});
      shapes.put(layer + "self_attn.o_proj.weight", new long[] {c, c});
      shapes.put(layer + "mlp.gate_proj.weight", new long[] {hidden, c});
      shapes.put(layer + "mlp.up_proj.weight", new long[] {hidden, c});
      shapes.put(layer + "mlp.down_proj.weight", new long[] {c, hidden});
      shapes.put(layer + "input_layernorm.weight", new long[] {c});
      shapes.put(layer + "post_attention_layernorm.weight", new long[] {c});
    }
    shapes.put("model.norm.weight", new long[] {c});
    if (!config.tieEmbeddings()) {
      shapes.put("lm_head.weight", new long[] {config.vocabSize(), c});
    }
    return shapes;
  }

  /**
   * Loads a Llama directory as float32 weights under our names. Tensors that are not Llama's are refused by name,
   * missing ones are all named at once, a wrong shape names the tensor, the expected and the stored shape.
   */
  static HfGpt2Checkpoint.Loaded load(org.apache.hadoop.fs.Path dir, JsonNode configJson, Configuration conf) {
    ModelConfig config = readConfig(configJson, new org.apache.hadoop.fs.Path(dir, HfGpt2Checkpoint.CONFIG).toString());
    Map<String, INDArray> hf = new LinkedHashMap<>();
    try (SafetensorsReader reader = SafetensorsReader.open(dir, conf)) {
      if (config.tieEmbeddings() && reader.names().contains("lm_head.weight")) {
        config = config.withTiedEmbeddings(false);     // a stored head wins over the flag
      }
      Map<String, long[]> expected = hfShapes(config);
      List<String> unknown = new ArrayList<>();
      for (String name : reader.names()) {
        if (name.endsWith(".rotary_emb.inv_freq")) {
          continue;                                    // a buffer older checkpoints carry, recomputed from rope_theta
        }
        long[] want = expected.get(name);
        if (want == null) {
          unknown.add(name);
          continue;
        }
        if (!Arrays.equals(want, reader.info(name).shape())) {
          throw new CheckpointException(reader.source() + ": tensor \"" + name + "\" expected shape "
              + Arrays.toString(want) + " (from config.json), got " + Arrays.toString(reader.info(name).shape()));
        }
        hf.put(name, HfCheckpoints.readWeight(reader, name));
      }
      if (!unknown.isEmpty()) {
        throw new CheckpointException(reader.source() + ": tensors that are not part of LlamaForCausalLM: " + unknown
            + ". Fix: is this a Llama checkpoint?");
      }
      List<String> missing = new ArrayList<>(expected.keySet());
      missing.removeAll(hf.keySet());
      if (!missing.isEmpty()) {
        throw new CheckpointException(dir + ": missing tensors " + missing);
      }
    }
    return new HfGpt2Checkpoint.Loaded(config, toOurs(config, hf));
  }

  /** HF tensors → ours: transposes the linear weights and packs q | k | v into the fused qkv columns. */
  static Map<String, INDArray> toOurs(ModelConfig config, Map<String, INDArray> hf) {
    Map<String, INDArray> ours = new LinkedHashMap<>();
    ours.put(ParamNames.TOKEN_EMBEDDING, hf.get("model.embed_tokens.weight"));
    for (int i = 0; i < config.numLayers(); i++) {
      String layer = "model.layers." + i + ".";
      ours.put(ParamNames.block(i, ParamNames.NORM1_SCALE), hf.get(layer + "input_layernorm.weight"));
      ours.put(ParamNames.block(i, ParamNames.QKV_WEIGHT), Nd4j.hstack(hf.get(layer + "self_attn.q_proj.weight")
          .transpose(), hf.get(layer + "self_attn.k_proj.weight").transpose(), hf.get(layer
          + "self_attn.v_proj.weight").transpose()).dup('c'));
      ours.put(ParamNames.block(i, ParamNames.ATTENTION_OUT_WEIGHT),
          transposed(hf.get(layer + "self_attn.o_proj.weight")));
      ours.put(ParamNames.block(i, ParamNames.NORM2_SCALE), hf.get(layer + "post_attention_layernorm.weight"));
      ours.put(ParamNames.block(i, ParamNames.FF_GATE_WEIGHT), transposed(hf.get(layer + "mlp.gate_proj.weight")));
      ours.put(ParamNames.block(i, ParamNames.FF_UP_WEIGHT), transposed(hf.get(layer + "mlp.up_proj.weight")));
      ours.put(ParamNames.block(i, ParamNames.FF_DOWN_WEIGHT), transposed(hf.get(layer + "mlp.down_proj.weight")));
    }
    ours.put(ParamNames.FINAL_NORM_SCALE, hf.get("model.norm.weight"));
    if (!config.tieEmbeddings()) {
      ours.put(ParamNames.OUT_HEAD, hf.get("lm_head.weight"));
    }
    return ours;
  }

  /** Ours → HF tensors (the inverse of {@link #toOurs}). */
  static Map<String, INDArray> toHf(ModelConfig config, Map<String, INDArray> ours) {
    int q = config.numHeads() * config.headDim();
    int kv = config.numKvGroups() * config.headDim();
    Map<String, INDArray> hf = new LinkedHashMap<>();
    hf.put("model.embed_tokens.weight", ours.get(ParamNames.TOKEN_EMBEDDING));
    for (int i = 0; i < config.numLayers(); i++) {
      String layer = "model.layers." + i + ".";
      INDArray qkv = ours.get(ParamNames.block(i, ParamNames.QKV_WEIGHT));
      hf.put(layer + "self_attn.q_proj.weight", transposed(columns(qkv, 0, q)));
      hf.put(layer + "self_attn.k_proj.weight", transposed(columns(qkv, q, q + kv)));
      hf.put(layer + "self_attn.v_proj.weight", transposed(columns(qkv, q + kv, q + 2 * kv)));
      hf.put(layer + "self_attn.o_proj.weight", transposed(ours.get(ParamNames.block(i,
          ParamNames.ATTENTION_OUT_WEIGHT))));
      hf.put(layer + "mlp.gate_proj.weight", transposed(ours.get(ParamNames.block(i, ParamNames.FF_GATE_WEIGHT))));
      hf.put(layer + "mlp.up_proj.weight", transposed(ours.get(ParamNames.block(i, ParamNames.FF_UP_WEIGHT))));
      hf.put(layer + "mlp.down_proj.weight", transposed(ours.get(ParamNames.block(i, ParamNames.FF_DOWN_WEIGHT))));
      hf.put(layer + "input_layernorm.weight", ours.get(ParamNames.block(i, ParamNames.NORM1_SCALE)));
      hf.put(layer + "post_attention_layernorm.weight", ours.get(ParamNames.block(i, ParamNames.NORM2_SCALE)));
    }
    hf.put("model.norm.weight", ours.get(ParamNames.FINAL_NORM_SCALE));
    if (!config.tieEmbeddings()) {
      hf.put("lm_head.weight", ours.get(ParamNames.OUT_HEAD));
    }
    return hf;
  }

  private static INDArray columns(INDArray m, int from, int to) {
    return m.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
  }

  private static INDArray transposed(INDArray m) {
    return m.transpose().dup('c');
  }

  /** Writes {@code config.json} + {@code model.safetensors} as transformers' LlamaForCausalLM expects them. */
  static void save(Path dir, ModelConfig config, Map<String, INDArray> weights, SafetensorsDtype dtype) {
    if (!config.usesRope() || !config.usesSwiGlu() || !ModelConfig.RMSNORM.equals(config.norm()) || config.qkvBias()
        || config.linearBias() || config.numClasses() > 0) {
      throw new CheckpointException(dir + ": " + config + " is neither GPT-2 nor Llama (rmsnorm, swiglu, rope, no "
          + "biases, a language-model head); Hugging Face export supports only those two");
    }
    ObjectNode c = JsonFiles.MAPPER.createObjectNode();
    c.putArray("architectures").add(ARCHITECTURE);
    c.put("model_type", MODEL_TYPE);
    c.put("hidden_size", config.embeddingDim());
    c.put("intermediate_size", config.hiddenDim());
    c.put("num_attention_heads", config.numHeads());
    c.put("num_key_value_heads", config.numKvGroups());
    c.put("num_hidden_layers", config.numLayers());
    c.put("vocab_size", config.vocabSize());
    c.put("max_position_embeddings", config.contextLength());
    c.put("rms_norm_eps", config.normEps());
    c.put("rope_theta", config.ropeTheta());
    c.put("hidden_act", "silu");
    c.put("tie_word_embeddings", config.tieEmbeddings());
    c.put("attention_bias", false);
    HfCheckpoints.write(dir, c, toHf(config, weights), dtype);
  }
}
