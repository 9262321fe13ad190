package dev.sparkgpt.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Java loops over ND4J memory, for the few fused passes ND4J has no op for (AdamW, dropout masks): a contiguous
 * array or view as a NIO buffer of its own window (index 0 = its first element), so a tensor deep inside a vector
 * larger than 2 GB still works.
 */
public final class DirectBuffers {
  private DirectBuffers() {}

  /** The elements of a contiguous float32 {@code array} (a view is fine) as a buffer over the same memory. */
  public static FloatBuffer floats(INDArray array) {
    requireContiguous(array);
    return floatPointer(array).limit(array.offset() + array.length()).asBuffer();
  }

  /** The elements of a contiguous float64 {@code array} as a buffer over the same memory. */
  public static DoubleBuffer doubles(INDArray array) {
    requireContiguous(array);
    return doublePointer(array).limit(array.offset() + array.length()).asBuffer();
  }

  /** A float32 {@code array}'s memory, positioned at its first element (a view starts offset() into its buffer). */
  static FloatPointer floatPointer(INDArray array) {
    return new FloatPointer(array.data().pointer()).position(array.offset());
  }

  /** A float64 {@code array}'s memory, positioned at its first element. */
  static DoublePointer doublePointer(INDArray array) {
    return new DoublePointer(array.data().pointer()).position(array.offset());
  }

  /** {@code length} elements of a contiguous float32 {@code array} from its element {@code from} into a new array. */
  public static float[] read(INDArray array, long from, int length) {
    float[] values = new float[length];
    floats(array).get((int) from, values, 0, length);
    return values;
  }

  private static void requireContiguous(INDArray array) {
    if (array.ordering() != 'c' || array.elementWiseStride() != 1) {
      throw new IllegalArgumentException("needs a contiguous c-order array, got order " + array.ordering()
          + " with element-wise stride " + array.elementWiseStride());
    }
  }
}
