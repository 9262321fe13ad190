package dev.sparkgpt.train;

import dev.sparkgpt.io.DirectArrays;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model's weights and optimizer state as what crosses the network: one flat float vector in sorted-name order,
 * broadcast from the driver as little-endian bytes and summed by tree aggregation for the average. No Java
 * serialisation of arrays, and bulk copies only.
 */
public final class ModelState {
  private ModelState() {}

  /**
   * Weights and optimizer state as little-endian float32 bytes in {@link #flatten}'s order: what the driver
   * broadcasts. No names travel: the receiving model was built from the same factory key, so it has the same names
   * and shapes, and {@link #unflatten} checks the count. (Safetensors bytes cost two more passes over 100 MB per
   * round, encoding and decoding, for names the executor already knows.)
   */
  public static byte[] toBytes(StepModel model) {
    float[] flat = flatten(model);
    ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(flat.length, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(flat);
    return bytes.array();
  }

  /** Restores a model from {@link #toBytes} with the given RNG state. */
  public static void restore(StepModel model, byte[] bytes, long rng) {
    float[] flat = new float[bytes.length / Float.BYTES];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(flat);
    unflatten(model, flat, rng);
  }

  /** Weights then optimizer state, each in sorted-name order, flattened (c-order) into one vector. */
  public static float[] flatten(StepModel model) {
    TreeMap<String, INDArray> w = new TreeMap<>(model.weights());
    TreeMap<String, INDArray> o = new TreeMap<>(model.optimizerState());
    long n = 0;
    for (INDArray a : w.values()) {
      n += a.length();
    }
    for (INDArray a : o.values()) {
      n += a.length();
    }
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("model state of " + n + " values is too large to average as one vector");
    }
    float[] flat = new float[(int) n];
    int at = 0;
    for (INDArray a : w.values()) {
      at = copy(a, flat, at);
    }
    for (INDArray a : o.values()) {
      at = copy(a, flat, at);
    }
    return flat;
  }

  private static int copy(INDArray a, float[] into, int at) {
    return DirectArrays.copyFloats(a, into, at);
  }

  /** Loads a flat vector (as from {@link #flatten}) back into {@code model}, keeping its names and shapes. */
  public static void unflatten(StepModel model, float[] flat, long rng) {
    TreeMap<String, INDArray> w = new TreeMap<>(model.weights());
    TreeMap<String, INDArray> o = new TreeMap<>(model.optimizerState());
    int[] at = {0};
    Map<String, INDArray> weights = rebuild(w, flat, at);
    Map<String, INDArray> optimizer = rebuild(o, flat, at);
    if (at[0] != flat.length) {
      throw new IllegalStateException("state vector has " + flat.length + " values, the model " + at[0]);
    }
    model.restore(weights, optimizer, rng);
  }

  private static Map<String, INDArray> rebuild(TreeMap<String, INDArray> shapes, float[] flat, int[] at) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, INDArray> e : shapes.entrySet()) {
      int n = (int) e.getValue().length();
      out.put(e.getKey(), DirectArrays.floats(flat, at[0], e.getValue().shape()));
      at[0] += n;
    }
    return out;
  }
}
