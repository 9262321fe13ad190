package dev.sparkgpt.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Row-by-row Java access to a contiguous [R, K] float32 or float64 array, widened to double: for row-wise work that
 * ND4J does with many small ops (LayerNorm), where each ND4J op costs 30–250 µs of dispatch here.
 */
final class RowBuffer {
  private final FloatBuffer floats;
  private final DoubleBuffer doubles;
  private final int columns;
  private final float[] scratch;

  RowBuffer(INDArray array) {
    this.columns = (int) array.size(array.rank() - 1);
    boolean single = array.dataType() == DataType.FLOAT;
    this.floats = single ? DirectBuffers.floats(array) : null;
    this.doubles = single ? null : DirectBuffers.doubles(array);
    this.scratch = single ? new float[columns] : null;
  }

  /** Copies row {@code row} into {@code into} (length ≥ K). */
  void read(int row, double[] into) {
    if (floats != null) {
      floats.get(row * columns, scratch, 0, columns);
      for (int j = 0; j < columns; j++) {
        into[j] = scratch[j];
      }
    } else {
      doubles.get(row * columns, into, 0, columns);
    }
  }

  /** Writes {@code from} (length ≥ K) into row {@code row}, rounding to float32 for a float32 array. */
  void write(int row, double[] from) {
    if (floats != null) {
      for (int j = 0; j < columns; j++) {
        scratch[j] = (float) from[j];
      }
      floats.put(row * columns, scratch, 0, columns);
    } else {
      doubles.put(row * columns, from, 0, columns);
    }
  }
}
