package dev.sparkgpt.train;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.LowRankAdapter;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.RandomStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Low-rank adapters (the book's appendix E): for each target, A [in, r] (uniform ±1/√r, seeded) and B [r, out] (zero),
 * so a fresh adapter leaves the model exactly as it was. Training computes them beside the frozen weights
 * ({@link LowRankAdapter}: y = x·W + (alpha/r) · (drop(x)·A)·B, attached with {@code GptModel.adapt(adapters())});
 * {@link #applyTo} merges them, W' = W + (alpha/r) · A·B, for generation and export. Our linear weights are stored
 * [in, out]; the output head is stored [out, in], so its delta is (A·B)ᵀ. attn_q, attn_k and attn_v adapt the query,
 * key and value columns of the fused qkv weight separately.
 */
public final class LoraAdapters {
  /** Target names in configs → the parameter suffix they adapt (per block), or the head; in adapter order. */
  public static final Map<String, String> TARGETS;
  /** The qkv column ranges: 0 query, 1 key, 2 value. */
  private static final Map<String, Integer> QKV_PARTS = Map.of("attn_q", 0, "attn_k", 1, "attn_v", 2);
  /** Target pairs that name the same weight (or columns of it): at most one of each may be chosen. */
  private static final List<List<String>> OVERLAPS = List.of(List.of("attn_qkv", "attn_q"),
      List.of("attn_qkv", "attn_k"), List.of("attn_qkv", "attn_v"), List.of("mlp_fc", "mlp_up"));
  static final String A = ".lora_A";
  static final String B = ".lora_B";

  /** One adapter before its tensors exist: where it goes. */
  private record Spec(String name, String weight, boolean head, long from) {}

  static {
    Map<String, String> targets = new LinkedHashMap<>();
    targets.put("attn_qkv", ParamNames.QKV_WEIGHT);
    targets.put("attn_q", ParamNames.QKV_WEIGHT);
    targets.put("attn_k", ParamNames.QKV_WEIGHT);
    targets.put("attn_v", ParamNames.QKV_WEIGHT);
    targets.put("attn_proj", ParamNames.ATTENTION_OUT_WEIGHT);
    targets.put("mlp_gate", ParamNames.FF_GATE_WEIGHT);   // SwiGLU only
    targets.put("mlp_fc", ParamNames.FF_UP_WEIGHT);       // GELU's expansion; SwiGLU's up projection
    targets.put("mlp_up", ParamNames.FF_UP_WEIGHT);       // the same weight under Llama's name
    targets.put("mlp_proj", ParamNames.FF_DOWN_WEIGHT);
    targets.put("head", ParamNames.OUT_HEAD);
    TARGETS = Collections.unmodifiableMap(targets);
  }

  private final GptParameters weights;
  private final List<String> targets = new ArrayList<>();
  private final List<LowRankAdapter> adapters = new ArrayList<>();
  private final Map<String, INDArray> savedBase = new LinkedHashMap<>();
  private final GptParameters parameters;
  private final GptParameters gradients;

  /** Adapters of rank {@code r} on {@code targets} of a model with {@code config} whose weights are {@code weights}. */
  public LoraAdapters(ModelConfig config, GptParameters weights, int r, double alpha, List<String> targetNames,
      long seed) {
    this(config, weights, r, alpha, 0, targetNames, seed);
  }

  /**
   * As {@link #LoraAdapters(ModelConfig, GptParameters, int, double, List, long)}, with {@code dropout} (0 ≤ p < 1)
   * on each adapter's input in training. {@code weights} are the base the adapters add to: they stay frozen.
   */
  public LoraAdapters(ModelConfig config, GptParameters weights, int r, double alpha, double dropout,
      List<String> targetNames, long seed) {
    if (r < 1) {
      throw new ConfigException("lora.r", "must be ≥ 1 to use LoRA, got " + r, "set lora.r (e.g. 8) or 0 for none");
    }
    if (!(dropout >= 0 && dropout < 1)) {
      throw new ConfigException("lora.dropout", "must be in [0, 1), got " + dropout,
          "set lora.dropout (e.g. 0.05) or 0 for none");
    }
    Set<String> chosen = new LinkedHashSet<>(targetNames);
    for (String t : chosen) {
      if (!TARGETS.containsKey(t)) {
        throw new ConfigException("lora.targets", "'" + t + "' matches no layer", "use some of "
            + new TreeSet<>(TARGETS.keySet()));
      }
    }
    for (List<String> pair : OVERLAPS) {
      if (chosen.containsAll(pair)) {
        throw new ConfigException("lora.targets", pair.get(0) + " and " + pair.get(1) + " both adapt "
            + TARGETS.get(pair.get(1)), "keep one of them");
      }
    }
    this.weights = weights;
    Map<String, long[]> shapes = new LinkedHashMap<>();
    List<Spec> specs = new ArrayList<>();
    for (String weight : weights.names()) {
      for (Map.Entry<String, String> target : TARGETS.entrySet()) {
        String suffix = target.getValue();
        boolean head = ParamNames.OUT_HEAD.equals(suffix);
        if (!chosen.contains(target.getKey())
            || !(head ? weight.equals(ParamNames.OUT_HEAD) : weight.startsWith("trf_blocks.")
            && weight.endsWith("." + suffix))) {
          continue;
        }
        long[] shape = weights.get(weight).shape();
        long in = head ? shape[1] : shape[0];
        long from = 0;
        long width = head ? shape[0] : shape[1];
        String name = weight;
        Integer part = QKV_PARTS.get(target.getKey());
        if (part != null) {                        // columns [0, H·D) query, then K·D key, then K·D value
          long q = (long) config.numHeads() * config.headDim();
          long kv = (long) config.numKvGroups() * config.headDim();
          from = part == 0 ? 0 : q + (part - 1) * kv;
          width = part == 0 ? q : kv;
          name = weight.substring(0, weight.length() - ParamNames.QKV_WEIGHT.length()) + "att." + "qkv".charAt(part);
        }
        targets.add(name);
        shapes.put(name + A, new long[] {in, r});
        shapes.put(name + B, new long[] {r, width});
        specs.add(new Spec(name, weight, head, from));
      }
    }
    if (targets.isEmpty()) {
      throw new ConfigException("lora.targets", targetNames + " match no weight of this model" + (chosen.contains(
          "head") && config.tieEmbeddings() ? " (its head is the tied token embedding: untie it to adapt it)" : ""),
          "use some of " + new TreeSet<>(TARGETS.keySet()));
    }
    parameters = GptParameters.zeros(shapes, weights.dataType());
    gradients = parameters.zerosLike();
    double bound = 1 / Math.sqrt(r);
    double scale = alpha / r;
    for (Spec spec : specs) {
      String name = spec.name();
      INDArray a = parameters.get(name + A);
      double[] values = new double[(int) a.length()];
      RandomStream random = new RandomStream(seed * 0x9E3779B97F4A7C15L + name.hashCode());
      for (int i = 0; i < values.length; i++) {
        values[i] = (2 * random.nextDouble() - 1) * bound;
      }
      a.assign(Nd4j.createFromArray(values).reshape(a.shape()));
      adapters.add(new LowRankAdapter(name, spec.weight(), spec.head(), spec.from(), a, parameters.get(name + B),
          gradients.get(name + A), gradients.get(name + B), scale, dropout));
    }
  }

  /**
   * The adapters' names: the adapted weight's name, or trf_blocks.N.att.q / .k / .v for the query, key or value
   * columns of the fused qkv weight; checkpoint keys are these + ".lora_A" / ".lora_B".
   */
  public List<String> targets() {
    return targets;
  }

  /** The trainable tensors (A and B of every target), live. */
  public GptParameters parameters() {
    return parameters;
  }

  /** Where the adapters' gradients accumulate (same layout as {@link #parameters()}). */
  public GptParameters gradients() {
    return gradients;
  }

  /** The adapters to attach to the model ({@code GptModel.adapt}) for training. */
  public List<LowRankAdapter> adapters() {
    return adapters;
  }

  /**
   * Writes W' = W + s · A·B (transposed for the head) into {@code into} for every adapted weight, W being the base
   * weights given at construction. Merging into those weights themselves keeps a copy of the adapted ones, so that
   * merging again after more training starts from the base, and {@link #restoreBase()} puts them back.
   */
  public void applyTo(GptParameters into) {
    for (String weight : adaptedWeights()) {
      INDArray base = savedBase.get(weight);
      if (base == null) {
        base = weights.get(weight);
        if (into == weights) {
          base = base.dup();
          savedBase.put(weight, base);
        }
      }
      INDArray out = into.get(weight).assign(base);
      for (LowRankAdapter a : adapters) {
        if (a.weight().equals(weight)) {
          a.addDeltaTo(out);
        }
      }
    }
  }

  /** Whether the base weights currently hold merged values ({@link #applyTo} on them). */
  public boolean merged() {
    return !savedBase.isEmpty();
  }

  /** Undoes {@link #applyTo} on the base weights: they hold exactly the base again. */
  public void restoreBase() {
    savedBase.forEach((weight, base) -> weights.get(weight).assign(base));
    savedBase.clear();
  }

  /** The frozen base value of weight {@code name} (the adapted weight's name). */
  public INDArray base(String name) {
    return savedBase.getOrDefault(name, weights.get(name));
  }

  private Set<String> adaptedWeights() {
    Set<String> names = new LinkedHashSet<>();
    adapters.forEach(a -> names.add(a.weight()));
    return names;
  }
}
