package dev.sparkgpt.train;

import dev.sparkgpt.io.ByteSource;
import dev.sparkgpt.io.SafetensorsFile;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model's weights and optimizer state as what crosses the network: safetensors bytes (broadcast from the driver)
 * and one flat float vector in sorted-name order (summed by tree aggregation and averaged). No Java serialisation.
 */
public final class ModelState {
  private static final String OPT = "optimizer/";

  private ModelState() {}

  /** Weights and optimizer state (names prefixed "optimizer/") as safetensors bytes. */
  public static byte[] toBytes(StepModel model) {
    SafetensorsWriter w = new SafetensorsWriter();
    model.weights().forEach(w::add);
    model.optimizerState().forEach((k, v) -> w.add(OPT + k, v));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      w.writeTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Restores a model from {@link #toBytes} with the given RNG state. */
  public static void restore(StepModel model, byte[] bytes, long rng) {
    Map<String, INDArray> weights = new LinkedHashMap<>();
    Map<String, INDArray> optimizer = new LinkedHashMap<>();
    try (SafetensorsReader r = SafetensorsFile.open(ByteSource.ofBytes("broadcast state", bytes))) {
      for (String name : r.names()) {
        INDArray a = r.readArray(name, DataType.FLOAT);
        if (name.startsWith(OPT)) {
          optimizer.put(name.substring(OPT.length()), a);
        } else {
          weights.put(name, a);
        }
      }
    }
    model.restore(weights, optimizer, rng);
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
    float[] values = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    System.arraycopy(values, 0, into, at, values.length);
    return at + values.length;
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
      float[] part = new float[n];
      System.arraycopy(flat, at[0], part, 0, n);
      at[0] += n;
      out.put(e.getKey(), Nd4j.create(part, e.getValue().shape(), 'c'));
    }
    return out;
  }
}
