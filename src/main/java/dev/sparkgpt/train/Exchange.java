package dev.sparkgpt.train;

import dev.sparkgpt.config.ExchangeDtype;

import dev.sparkgpt.io.HalfPrecision;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What crosses the network in a parameter-averaging round, and how: a model's trainable weights as one flat vector
 * (the order {@link StepModel#weightVector} keeps) cut into chunks of at most {@value #MAX_CHUNK_BYTES} bytes, each
 * sent as little-endian float32 or bfloat16 (round to nearest even) bytes. No chunk is ever one 2 GiB array, and a
 * sum of chunks is always accumulated in float32 in worker order, so it is the same at any executor count.
 */
public final class Exchange {
  /** The largest chunk sent or broadcast (Spark's results and broadcast blocks stay well below their limits). */
  public static final int MAX_CHUNK_BYTES = 64 << 20;

  /** Element type on the wire. */
  /** Chunk {@code index} of a vector: elements {@code [from, from + length)}. */
  public record Chunk(int index, long from, int length) implements Serializable {}

  private Exchange() {}

  /** The chunks of a vector of {@code length} elements sent as {@code dtype}. */
  public static List<Chunk> chunks(long length, ExchangeDtype dtype) {
    return chunks(length, MAX_CHUNK_BYTES / dtype.bytes());
  }

  /** As above with at most {@code maxElements} per chunk (tests use small chunks). */
  public static List<Chunk> chunks(long length, int maxElements) {
    List<Chunk> out = new ArrayList<>();
    for (long from = 0; from < length; from += maxElements) {
      out.add(new Chunk(out.size(), from, (int) Math.min(maxElements, length - from)));
    }
    return out;
  }

  /** {@code values[0..n)} as bytes of {@code dtype}. */
  public static byte[] encode(float[] values, int n, ExchangeDtype dtype) {
    ByteBuffer b = ByteBuffer.allocate(n * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    if (dtype == ExchangeDtype.F32) {
      b.asFloatBuffer().put(values, 0, n);
    } else {
      ShortBuffer s = b.asShortBuffer();
      for (int i = 0; i < n; i++) {
        s.put(i, HalfPrecision.floatToBfloat16(values[i]));
      }
    }
    return b.array();
  }

  /** Decodes {@code bytes} into {@code out[0..n)}. */
  public static void decode(byte[] bytes, ExchangeDtype dtype, float[] out) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int n = bytes.length / dtype.bytes();
    if (dtype == ExchangeDtype.F32) {
      b.asFloatBuffer().get(out, 0, n);
    } else {
      ShortBuffer s = b.asShortBuffer();
      for (int i = 0; i < n; i++) {
        out[i] = HalfPrecision.bfloat16ToFloat(s.get(i));
      }
    }
  }

  /** {@code acc[i] += decode(bytes)[i] * scale}, in float32, element by element. */
  public static void accumulate(byte[] bytes, ExchangeDtype dtype, float scale, float[] acc) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int n = bytes.length / dtype.bytes();
    if (dtype == ExchangeDtype.F32) {
      FloatBuffer f = b.asFloatBuffer();
      for (int i = 0; i < n; i++) {
        acc[i] += f.get(i) * scale;
      }
    } else {
      ShortBuffer s = b.asShortBuffer();
      for (int i = 0; i < n; i++) {
        acc[i] += HalfPrecision.bfloat16ToFloat(s.get(i)) * scale;
      }
    }
  }

  /** The value {@code v} takes after a trip through {@code dtype}. */
  public static float roundTrip(float v, ExchangeDtype dtype) {
    return dtype == ExchangeDtype.F32 ? v : HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBfloat16(v));
  }
}
