package dev.sparkgpt.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor entry of a safetensors header: name, dtype, row-major shape, and its byte range relative to the start
 * of the data buffer. A reader only hands out entries it has checked against the file.
 */
public record TensorInfo(String name, SafetensorsDtype dtype, long[] shape, long dataBegin, long dataEnd) {

  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    shape = shape.clone();
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("tensor \"" + name + "\": negative dimension in " + Arrays.toString(shape));
      }
    }
    if (dataBegin < 0 || dataEnd < dataBegin) {
      throw new IllegalArgumentException("tensor \"" + name + "\": invalid data range [" + dataBegin + ", " + dataEnd
          + "]");
    }
  }

  /** A copy of the shape; {@code []} for a scalar. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  /** Product of the dimensions (1 for a scalar); the header parser has checked it does not overflow. */
  public long elementCount() {
    long count = 1;
    for (long dim : shape) {
      count *= dim;
    }
    return count;
  }

  public long byteLength() {
    return dataEnd - dataBegin;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TensorInfo that && name.equals(that.name) && dtype == that.dtype
        && Arrays.equals(shape, that.shape) && dataBegin == that.dataBegin && dataEnd == that.dataEnd;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), dataBegin, dataEnd);
  }

  /** For example {@code "h.0.attn.c_attn.weight" F32 [64, 192]}. */
  @Override
  public String toString() {
    return "\"" + name + "\" " + dtype + " " + Arrays.toString(shape);
  }
}
