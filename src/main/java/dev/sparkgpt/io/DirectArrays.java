package dev.sparkgpt.io;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between Java arrays and ND4J's native buffers. {@code Nd4j.create(float[], …)} fills its buffer one
 * element at a time (BaseDataBuffer.put per value) and {@code data().asFloat()} reads the same way: for the 100 MB of
 * weights and Adam moments that parameter averaging moves each round, those loops were the top costs of a round in
 * a profile. A memory copy through the buffer's NIO view does the same work an order of magnitude faster.
 */
public final class DirectArrays {
  private DirectArrays() {}

  /** A c-order FLOAT array of {@code shape} holding {@code values[offset … offset + Π shape)}. */
  public static INDArray floats(float[] values, int offset, long... shape) {
    INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
    if (a.isEmpty()) {
      return a;
    }
    floatView(a).put(values, offset, (int) a.length());
    return a;
  }

  /** A c-order DOUBLE array of {@code shape} holding {@code values}. */
  public static INDArray doubles(double[] values, long... shape) {
    INDArray a = Nd4j.createUninitialized(DataType.DOUBLE, shape, 'c');
    if (a.isEmpty()) {
      return a;
    }
    doubleView(a).put(values, 0, (int) a.length());
    return a;
  }

  /** Copies {@code a} (any type and order, as float32 in c-order) into {@code into} from {@code at}; returns the end. */
  public static int copyFloats(INDArray a, float[] into, int at) {
    INDArray c = a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView() ? a
        : a.castTo(DataType.FLOAT).dup('c');
    int n = (int) c.length();
    if (n > 0) {
      floatView(c).get(into, at, n);
    }
    return at + n;
  }

  private static FloatBuffer floatView(INDArray contiguous) {
    return contiguous.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static DoubleBuffer doubleView(INDArray contiguous) {
    return contiguous.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer();
  }
}
