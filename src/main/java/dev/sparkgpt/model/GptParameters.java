package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every tensor of one GPT (weights, or their gradients, or an optimizer moment) stored in a single flat vector with a
 * named view per parameter ({@link ParamNames}), so the whole set can be averaged across Spark executors, clipped or
 * updated as one vector and still read and written by name. float32 for training, float64 for gradient checks.
 */
public final class GptParameters {
  private final ModelConfig config;
  private final Map<String, long[]> shapes;
  private final INDArray flat;
  private final Map<String, INDArray> views;

  private GptParameters(ModelConfig config, INDArray flat) {
    this(config, ParamNames.shapes(config), flat);
  }

  private GptParameters(ModelConfig config, Map<String, long[]> shapes, INDArray flat) {
    this.config = config;
    this.shapes = shapes;
    this.flat = flat;
    Map<String, INDArray> named = new LinkedHashMap<>();
    long offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long length = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
      named.put(e.getKey(), flat.get(NDArrayIndex.interval(offset, offset + length)).reshape(e.getValue()));
      offset += length;
    }
    if (offset != flat.length()) {
      throw new IllegalArgumentException("the layout has " + offset + " parameters, the vector holds "
          + flat.length());
    }
    this.views = Collections.unmodifiableMap(named);
  }

  /**
   * Zeros in a layout of named shapes that is not a model's (e.g. LoRA adapters), so AdamW, norms and checkpoints
   * work on it as on a model; {@link #config()} is null.
   */
  public static GptParameters zeros(Map<String, long[]> shapes, DataType dataType) {
    long n = 0;
    for (long[] shape : shapes.values()) {
      n += Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }
    return new GptParameters(null, new LinkedHashMap<>(shapes), Nd4j.zeros(dataType, n));
  }

  /** All zeros (gradient accumulators, optimizer moments). */
  public static GptParameters zeros(ModelConfig config, DataType dataType) {
    return new GptParameters(config, Nd4j.zeros(dataType, config.parameterCount()));
  }

  /**
   * GPT-2's initialization, seeded: weights N(0, 0.02²), the two projections that write into the residual stream
   * (attention out_proj, feed-forward proj) N(0, (0.02 / √(2 · n_layers))²), biases 0, LayerNorm gains 1 and
   * shifts 0, DyT α 0.5. Each tensor draws from its own stream (seed and name), so adding a tensor changes no other.
   */
  public static GptParameters initialize(ModelConfig config, DataType dataType, long seed) {
    GptParameters p = zeros(config, dataType);
    double residualStd = 0.02 / Math.sqrt(2.0 * config.numLayers());
    for (Map.Entry<String, INDArray> e : p.views.entrySet()) {
      String name = e.getKey();
      INDArray view = e.getValue();
      if (name.endsWith(".scale")) {
        view.assign(1.0);
      } else if (name.endsWith(".alpha")) {
        view.assign(DynamicTanh.INITIAL_ALPHA);
      } else if (view.rank() == 2) {
        boolean residual = name.endsWith(ParamNames.ATTENTION_OUT_WEIGHT) || name.endsWith(ParamNames.FF_DOWN_WEIGHT);
        double[] values = new double[(int) view.length()];
        new RandomStream(seed * 0x9E3779B97F4A7C15L + name.hashCode()).fillGaussian(values,
            residual ? residualStd : 0.02);
        view.assign(Nd4j.createFromArray(values).reshape(view.shape()));
      }
    }
    return p;
  }

  /**
   * A model's parameters from named tensors (a checkpoint, a converted Hugging Face file): every name of the
   * config must be present with its exact shape, and nothing else; values are copied and cast to {@code dataType}.
   */
  public static GptParameters fromMap(ModelConfig config, Map<String, INDArray> tensors, DataType dataType) {
    GptParameters p = zeros(config, dataType);
    for (String name : tensors.keySet()) {
      if (!p.views.containsKey(name)) {
        throw new IllegalArgumentException("unknown parameter '" + name + "' for " + config + "; expected "
            + p.views.keySet());
      }
    }
    for (String name : p.views.keySet()) {
      INDArray value = tensors.get(name);
      if (value == null) {
        throw new IllegalArgumentException("parameter '" + name + "' is missing (shape "
            + Arrays.toString(p.views.get(name).shape()) + ")");
      }
      p.set(name, value);
    }
    return p;
  }

  /** Parameters from one flat vector in {@link ParamNames#shapes} order (the inverse of {@link #flatten()}). */
  public static GptParameters fromVector(ModelConfig config, INDArray vector, DataType dataType) {
    GptParameters p = zeros(config, dataType);
    p.setVector(vector);
    return p;
  }

  public ModelConfig config() {
    return config;
  }

  public DataType dataType() {
    return flat.dataType();
  }

  /** Number of scalars (= config.parameterCount()). */
  public long size() {
    return flat.length();
  }

  public Set<String> names() {
    return views.keySet();
  }

  /** The live view of one parameter: writes change this set. */
  public INDArray get(String name) {
    INDArray view = views.get(name);
    if (view == null) {
      throw new IllegalArgumentException("no parameter '" + name + "' in " + config + "; names: " + views.keySet());
    }
    return view;
  }

  /** Live views by name, in storage order. */
  public Map<String, INDArray> views() {
    return views;
  }

  /** The live flat vector every view points into. */
  public INDArray vector() {
    return flat;
  }

  /** A copy of the flat vector. */
  public INDArray flatten() {
    return flat.dup();
  }

  /** Copies {@code vector} (any floating type, length {@link #size()}) into this set. */
  public void setVector(INDArray vector) {
    if (vector.length() != flat.length()) {
      throw new IllegalArgumentException("vector has " + vector.length() + " values, " + config + " has "
          + flat.length() + " parameters");
    }
    flat.assign(vector.reshape(flat.length()).castTo(flat.dataType()));
  }

  /** Copies {@code value} into parameter {@code name}; the shapes must be equal. */
  public void set(String name, INDArray value) {
    INDArray view = get(name);
    if (!Arrays.equals(view.shape(), value.shape())) {
      throw new IllegalArgumentException("parameter '" + name + "': shape " + Arrays.toString(value.shape())
          + " given, the model has " + Arrays.toString(view.shape()));
    }
    view.assign(value.castTo(view.dataType()));
  }

  /** Copies of every tensor by name, cast to {@code dataType} (what a checkpoint writes). */
  public Map<String, INDArray> toMap(DataType dataType) {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    views.forEach((name, view) -> copy.put(name, view.castTo(dataType).dup()));
    return copy;
  }

  /** A deep copy in {@code dataType}. */
  public GptParameters copy(DataType dataType) {
    return new GptParameters(config, shapes, flat.castTo(dataType).dup());
  }

  /** Zeros with this layout and type. */
  public GptParameters zerosLike() {
    return new GptParameters(config, shapes, Nd4j.zeros(dataType(), flat.length()));
  }
}
