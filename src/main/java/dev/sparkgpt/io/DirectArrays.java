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

  /**
   * Copies {@code n} values of the float32 vector {@code flat} from element {@code from} into {@code into[at…]}
   * straight out of its native buffer (no view, no temporary array).
   */
  public static void readRange(INDArray flat, long from, float[] into, int at, int n) {
    if (!contiguousFloat(flat)) {
      copyFloats(flat.reshape(flat.length()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, from + n)),
          into, at);
      return;
    }
    FloatBuffer view = floatView(flat);
    view.position(Math.toIntExact(flat.offset() + from));
    view.get(into, at, n);
  }

  /** Writes {@code values[at … at + n)} into the float32 vector {@code flat} from element {@code from}. */
  public static void writeRange(float[] values, int at, INDArray flat, long from, int n) {
    if (!contiguousFloat(flat)) {
      flat.reshape(flat.length()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, from + n))
          .assign(floats(values, at, n));
      return;
    }
    FloatBuffer view = floatView(flat);
    view.position(Math.toIntExact(flat.offset() + from));
    view.put(values, at, n);
  }

  /**
   * {@code n} values of the float32 vector {@code flat} from {@code from} as little-endian float32 bytes, copied in
   * one pass from the native buffer where its byte order is little-endian (x86, ARM), else value by value.
   */
  public static byte[] rangeBytes(INDArray flat, long from, int n) {
    byte[] out = new byte[Math.multiplyExact(n, 4)];
    if (contiguousFloat(flat) && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      java.nio.ByteBuffer bytes = flat.data().asNio();
      bytes.position(Math.toIntExact((flat.offset() + from) * 4));
      bytes.get(out);
      return out;
    }
    float[] values = new float[n];
    readRange(flat, from, values, 0, n);
    java.nio.ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
    return out;
  }

  /** Writes little-endian float32 {@code bytes} into the float32 vector {@code flat} from element {@code from}. */
  public static void writeBytes(byte[] bytes, INDArray flat, long from) {
    if (contiguousFloat(flat) && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      java.nio.ByteBuffer target = flat.data().asNio();
      target.position(Math.toIntExact((flat.offset() + from) * 4));
      target.put(bytes);
      return;
    }
    float[] values = new float[bytes.length / 4];
    java.nio.ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    writeRange(values, 0, flat, from, values.length);
  }

  private static boolean contiguousFloat(INDArray a) {
    return a.dataType() == DataType.FLOAT && a.ordering() == 'c' && a.elementWiseStride() == 1 && !a.isEmpty()
        && (!a.isView() || a.isVector());
  }

  private static FloatBuffer floatView(INDArray contiguous) {
    return contiguous.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static DoubleBuffer doubleView(INDArray contiguous) {
    return contiguous.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer();
  }
}
