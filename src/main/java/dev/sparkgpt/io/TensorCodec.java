package dev.sparkgpt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Converts little-endian tensor bytes of any safetensors dtype to Java arrays and back. */
final class TensorCodec {
  private TensorCodec() {}

  static void decodeFloats(ByteBuffer src, SafetensorsDtype dtype, float[] dst, int offset, int count) {
    switch (dtype) {
      case F32 -> src.asFloatBuffer().get(dst, offset, count);
      case F64 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = (float) src.getDouble(8 * i);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = HalfPrecision.halfToFloat(src.getShort(2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = HalfPrecision.bfloat16ToFloat(src.getShort(2 * i));
        }
      }
      case I64 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = src.getLong(8 * i);
        }
      }
      default -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = integerAt(src, dtype, i);
        }
      }
    }
  }

  static void decodeDoubles(ByteBuffer src, SafetensorsDtype dtype, double[] dst, int offset, int count) {
    switch (dtype) {
      case F64 -> src.asDoubleBuffer().get(dst, offset, count);
      case F32 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = src.getFloat(4 * i);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = HalfPrecision.halfToFloat(src.getShort(2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = HalfPrecision.bfloat16ToFloat(src.getShort(2 * i));
        }
      }
      case I64 -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = src.getLong(8 * i);
        }
      }
      default -> {
        for (int i = 0; i < count; i++) {
          dst[offset + i] = integerAt(src, dtype, i);
        }
      }
    }
  }

  /** Integer dtypes only; returns the index within this chunk of the first I64 value outside int, or -1. */
  static int decodeInts(ByteBuffer src, SafetensorsDtype dtype, int[] dst, int offset, int count) {
    if (dtype == SafetensorsDtype.I64) {
      for (int i = 0; i < count; i++) {
        long value = src.getLong(8 * i);
        if (value != (int) value) {
          return i;
        }
        dst[offset + i] = (int) value;
      }
    } else if (dtype == SafetensorsDtype.I32) {
      src.asIntBuffer().get(dst, offset, count);
    } else {
      for (int i = 0; i < count; i++) {
        dst[offset + i] = integerAt(src, dtype, i);
      }
    }
    return -1;
  }

  /** Integer dtypes only. */
  static void decodeLongs(ByteBuffer src, SafetensorsDtype dtype, long[] dst, int offset, int count) {
    if (dtype == SafetensorsDtype.I64) {
      src.asLongBuffer().get(dst, offset, count);
    } else {
      for (int i = 0; i < count; i++) {
        dst[offset + i] = integerAt(src, dtype, i);
      }
    }
  }

  /** Element {@code i} of an I32, I16, I8, U8 or BOOL buffer (BOOL: any non-zero byte is 1). */
  private static int integerAt(ByteBuffer src, SafetensorsDtype dtype, int i) {
    return switch (dtype) {
      case I32 -> src.getInt(4 * i);
      case I16 -> src.getShort(2 * i);
      case I8 -> src.get(i);
      case U8 -> src.get(i) & 0xFF;
      case BOOL -> src.get(i) == 0 ? 0 : 1;
      default -> throw new IllegalStateException(dtype + " is not a 32-bit-or-narrower integer dtype");
    };
  }

  /** The first element of {@code values} that {@code dtype} cannot hold, or -1; for integer dtypes. */
  static long firstOutOfRange(long[] values, SafetensorsDtype dtype) {
    long min = minValue(dtype);
    long max = maxValue(dtype);
    for (int i = 0; i < values.length; i++) {
      if (values[i] < min || values[i] > max) {
        return i;
      }
    }
    return -1;
  }

  static long firstOutOfRange(int[] values, SafetensorsDtype dtype) {
    long min = minValue(dtype);
    long max = maxValue(dtype);
    for (int i = 0; i < values.length; i++) {
      if (values[i] < min || values[i] > max) {
        return i;
      }
    }
    return -1;
  }

  private static long minValue(SafetensorsDtype dtype) {
    return switch (dtype) {
      case I64 -> Long.MIN_VALUE;
      case I32 -> Integer.MIN_VALUE;
      case I16 -> Short.MIN_VALUE;
      case I8 -> Byte.MIN_VALUE;
      default -> 0; // U8, BOOL
    };
  }

  private static long maxValue(SafetensorsDtype dtype) {
    return switch (dtype) {
      case I64 -> Long.MAX_VALUE;
      case I32 -> Integer.MAX_VALUE;
      case I16 -> Short.MAX_VALUE;
      case I8 -> Byte.MAX_VALUE;
      case U8 -> 255;
      default -> 1; // BOOL
    };
  }

  /**
   * Streams {@code values} (float[], double[], int[] or long[], already checked against {@code dtype}) to
   * {@code out} as little-endian {@code dtype} elements through {@code scratch}, a little-endian heap buffer.
   */
  static void encode(Object values, SafetensorsDtype dtype, OutputStream out, ByteBuffer scratch)
      throws IOException {
    if (values instanceof float[] floats) {
      for (float value : floats) {
        putFloat(room(scratch, out), dtype, value);
      }
    } else if (values instanceof double[] doubles) {
      for (double value : doubles) {
        putDouble(room(scratch, out), dtype, value);
      }
    } else if (values instanceof int[] ints) {
      for (int value : ints) {
        putInteger(room(scratch, out), dtype, value);
      }
    } else {
      for (long value : (long[]) values) {
        putInteger(room(scratch, out), dtype, value);
      }
    }
    flush(scratch, out);
  }

  private static void putFloat(ByteBuffer dst, SafetensorsDtype dtype, float value) {
    switch (dtype) {
      case F32 -> dst.putFloat(value);
      case F64 -> dst.putDouble(value);
      case F16 -> dst.putShort(HalfPrecision.floatToHalf(value));
      case BF16 -> dst.putShort(HalfPrecision.floatToBfloat16(value));
      default -> throw new IllegalStateException("float data cannot be stored as " + dtype);
    }
  }

  private static void putDouble(ByteBuffer dst, SafetensorsDtype dtype, double value) {
    switch (dtype) {
      case F64 -> dst.putDouble(value);
      case F32 -> dst.putFloat((float) value);
      case F16 -> dst.putShort(HalfPrecision.doubleToHalf(value));
      case BF16 -> dst.putShort(HalfPrecision.doubleToBfloat16(value));
      default -> throw new IllegalStateException("double data cannot be stored as " + dtype);
    }
  }

  private static void putInteger(ByteBuffer dst, SafetensorsDtype dtype, long value) {
    switch (dtype) {
      case I64 -> dst.putLong(value);
      case I32 -> dst.putInt((int) value);
      case I16 -> dst.putShort((short) value);
      case I8, U8, BOOL -> dst.put((byte) value);
      default -> throw new IllegalStateException("integer data cannot be stored as " + dtype);
    }
  }

  /** {@code scratch}, flushed first if it has no room for one more element. */
  private static ByteBuffer room(ByteBuffer scratch, OutputStream out) throws IOException {
    if (scratch.remaining() < Long.BYTES) {
      flush(scratch, out);
    }
    return scratch;
  }

  private static void flush(ByteBuffer scratch, OutputStream out) throws IOException {
    out.write(scratch.array(), scratch.arrayOffset(), scratch.position());
    scratch.clear();
  }
}
