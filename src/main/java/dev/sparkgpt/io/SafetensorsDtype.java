package dev.sparkgpt.io;

import java.util.Arrays;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;

/** The element types a safetensors header may declare, with their size in bytes. */
public enum SafetensorsDtype {
  F64(8, true, DataType.DOUBLE),
  F32(4, true, DataType.FLOAT),
  F16(2, true, DataType.HALF),
  BF16(2, true, DataType.BFLOAT16),
  I64(8, false, DataType.LONG),
  I32(4, false, DataType.INT),
  I16(2, false, DataType.SHORT),
  I8(1, false, DataType.BYTE),
  U8(1, false, DataType.UBYTE),
  BOOL(1, false, DataType.BOOL);

  private final int byteSize;
  private final boolean floatingPoint;
  private final DataType nd4jType;

  SafetensorsDtype(int byteSize, boolean floatingPoint, DataType nd4jType) {
    this.byteSize = byteSize;
    this.floatingPoint = floatingPoint;
    this.nd4jType = nd4jType;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** True for F64, F32, F16 and BF16. */
  public boolean isFloatingPoint() {
    return floatingPoint;
  }

  /** The ND4J type holding the same values. */
  public DataType nd4jType() {
    return nd4jType;
  }

  /** The dtype spelled exactly as in a header ("F32"), or empty for a spelling this reader does not know. */
  public static Optional<SafetensorsDtype> fromHeaderName(String name) {
    for (SafetensorsDtype dtype : values()) {
      if (dtype.name().equals(name)) {
        return Optional.of(dtype);
      }
    }
    return Optional.empty();
  }

  /** The dtype that stores an ND4J array of the given type without loss. */
  public static SafetensorsDtype of(DataType type) {
    for (SafetensorsDtype dtype : values()) {
      if (dtype.nd4jType == type) {
        return dtype;
      }
    }
    throw new IllegalArgumentException("ND4J type " + type + " has no safetensors dtype; cast to one of "
        + Arrays.toString(values()) + " first");
  }
}
