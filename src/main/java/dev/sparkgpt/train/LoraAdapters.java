package dev.sparkgpt.train;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.RandomStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Low-rank adapters (the book's appendix E): for each targeted weight W, A [in, r] (uniform ±1/√r, seeded) and B
 * [r, out] (zero), and the model computes with W' = W + (alpha / r) · A·B, so a fresh adapter leaves the model exactly
 * as it was. The base weights stay frozen in a copy. The model's own backward gives ∂L/∂W'; the chain rule then gives
 * the adapters' gradients exactly: ∂L/∂A = s · ∂L/∂W' · Bᵀ and ∂L/∂B = s · Aᵀ · ∂L/∂W'. Our linear weights are
 * stored [in, out]; the output head is stored [out, in], so its delta is (A·B)ᵀ.
 */
public final class LoraAdapters {
  /** Target names in configs → the parameter suffix they adapt (per block), or the head. */
  public static final Map<String, String> TARGETS = Map.of("attn_qkv", ParamNames.QKV_WEIGHT, "attn_proj",
      ParamNames.ATTENTION_OUT_WEIGHT, "mlp_fc", ParamNames.FF_UP_WEIGHT, "mlp_proj", ParamNames.FF_DOWN_WEIGHT,
      "head", ParamNames.OUT_HEAD);
  static final String A = ".lora_A";
  static final String B = ".lora_B";

  private final List<String> targets = new ArrayList<>();
  private final Map<String, INDArray> base = new LinkedHashMap<>();
  private final GptParameters adapters;
  private final double scale;

  /** Adapters of rank {@code r} on {@code targets} of a model with {@code config} whose weights are {@code weights}. */
  public LoraAdapters(ModelConfig config, GptParameters weights, int r, double alpha, List<String> targetNames,
      long seed) {
    if (r < 1) {
      throw new ConfigException("lora.r", "must be ≥ 1 to use LoRA, got " + r, "set lora.r (e.g. 8) or 0 for none");
    }
    for (String t : targetNames) {
      if (!TARGETS.containsKey(t)) {
        throw new ConfigException("lora.targets", "'" + t + "' matches no layer", "use some of "
            + new java.util.TreeSet<>(TARGETS.keySet()));
      }
    }
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (String name : weights.names()) {
      for (String t : targetNames) {
        String suffix = TARGETS.get(t);
        boolean head = ParamNames.OUT_HEAD.equals(suffix);
        if (head ? name.equals(ParamNames.OUT_HEAD) : name.startsWith("trf_blocks.") && name.endsWith("." + suffix)) {
          long[] shape = weights.get(name).shape();
          long in = head ? shape[1] : shape[0];
          long out = head ? shape[0] : shape[1];
          targets.add(name);
          shapes.put(name + A, new long[] {in, r});
          shapes.put(name + B, new long[] {r, out});
          base.put(name, weights.get(name).dup());
        }
      }
    }
    if (targets.isEmpty()) {
      throw new ConfigException("lora.targets", targetNames + " match no weight of this model" + (targetNames.contains(
          "head") && config.tieEmbeddings() ? " (its head is the tied token embedding: untie it to adapt it)" : ""),
          "use some of " + new java.util.TreeSet<>(TARGETS.keySet()));
    }
    adapters = GptParameters.zeros(shapes, weights.dataType());
    double bound = 1 / Math.sqrt(r);
    for (String name : targets) {
      INDArray a = adapters.get(name + A);
      double[] values = new double[(int) a.length()];
      RandomStream random = new RandomStream(seed * 0x9E3779B97F4A7C15L + name.hashCode());
      for (int i = 0; i < values.length; i++) {
        values[i] = (2 * random.nextDouble() - 1) * bound;
      }
      a.assign(Nd4j.createFromArray(values).reshape(a.shape()));
    }
    scale = alpha / r;
  }

  /** The adapted weights' names. */
  public List<String> targets() {
    return targets;
  }

  /** The trainable tensors (A and B of every target), live. */
  public GptParameters parameters() {
    return adapters;
  }

  /** Writes W' = W + s · A·B (transposed for the head) into {@code weights} for every target. */
  public void applyTo(GptParameters weights) {
    for (String name : targets) {
      weights.get(name).assign(base.get(name).add(delta(name)));
    }
  }

  private INDArray delta(String name) {
    INDArray d = adapters.get(name + A).mmul(adapters.get(name + B)).muli(scale);
    return ParamNames.OUT_HEAD.equals(name) ? d.transpose() : d;
  }

  /** ∂L/∂A and ∂L/∂B from ∂L/∂W' ({@code modelGradients}), into {@code into} (same layout as the adapters). */
  public void gradients(GptParameters modelGradients, GptParameters into) {
    for (String name : targets) {
      INDArray dW = modelGradients.get(name);
      if (ParamNames.OUT_HEAD.equals(name)) {
        dW = dW.transpose();
      }
      INDArray a = adapters.get(name + A);
      INDArray b = adapters.get(name + B);
      into.get(name + A).assign(dW.mmul(b.transpose()).muli(scale));
      into.get(name + B).assign(a.transpose().mmul(dW).muli(scale));
    }
  }

  /** The frozen base weight of a target (a copy taken at construction). */
  public INDArray base(String name) {
    return base.get(name);
  }
}
