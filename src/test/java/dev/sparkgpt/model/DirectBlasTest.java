package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The direct gemv computes what ND4J's Mmul op computes, also on views that start inside their buffer. */
class DirectBlasTest {
  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  @Test
  void theCpuBackendTakesTheDirectPath() {
    assertTrue(DirectBlas.AVAILABLE, "nd4j-native is the test backend, so the direct path must be on");
  }

  @Test
  void gemvEqualsTheMmulOpInBothOrientationsAndBothPrecisions() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray w = Nd4j.rand(type, 37, 53).subi(0.5);
      for (boolean transpose : new boolean[] {false, true}) {
        INDArray x = Nd4j.rand(type, transpose ? 37 : 53).subi(0.5);
        INDArray expected = Nd4j.create(type, transpose ? 53 : 37);
        Nd4j.exec(new Mmul(w, x, expected, MMulTranspose.builder().transposeA(transpose).build()));
        INDArray y = Nd4j.create(type, transpose ? 53 : 37);
        assertTrue(DirectBlas.gemv(w, transpose, x, y));
        assertArrayEquals(expected.toDoubleVector(), y.toDoubleVector(), type == DataType.FLOAT ? 1e-5 : 1e-12,
            type + " transpose=" + transpose);
      }
    }
  }

  @Test
  void viewsThatStartInsideTheirBufferAreReadAndWrittenAtTheirOwnPlace() {
    INDArray big = Nd4j.rand(DataType.FLOAT, 10, 12).subi(0.5);
    INDArray w = big.get(NDArrayIndex.interval(3, 7), NDArrayIndex.all());                 // rows 3..6: [4, 12]
    INDArray vectors = Nd4j.rand(DataType.FLOAT, 5, 12).subi(0.5);
    INDArray x = vectors.get(NDArrayIndex.interval(2, 3), NDArrayIndex.all());             // [1, 12], offset 24
    INDArray out = Nd4j.zeros(DataType.FLOAT, 3, 4);
    INDArray y = out.get(NDArrayIndex.interval(1, 2), NDArrayIndex.all());                 // [1, 4], offset 4
    assertTrue(DirectBlas.gemv(w, false, x, y));
    INDArray expected = w.dup().mmul(x.dup().reshape(12, 1)).reshape(4);
    assertArrayEquals(expected.toFloatVector(), y.dup().reshape(4).toFloatVector(), 1e-5f);
    assertArrayEquals(new float[4], out.getRow(0).toFloatVector(), "rows around the view stay untouched");
    assertArrayEquals(new float[4], out.getRow(2).toFloatVector());
  }

  @Test
  void layoutsItCannotTakeAreLeftToTheCaller() {
    INDArray w = Nd4j.rand(DataType.FLOAT, 6, 8);
    INDArray y = Nd4j.create(DataType.FLOAT, 6);
    assertFalse(DirectBlas.gemv(w.transpose(), true, Nd4j.rand(DataType.FLOAT, 8), Nd4j.create(DataType.FLOAT, 6)),
        "a transposed (f-order) view");
    assertFalse(DirectBlas.gemv(w, false, Nd4j.rand(DataType.FLOAT, 8, 2).getColumn(0), y), "a strided vector");
    assertFalse(DirectBlas.gemv(w, false, Nd4j.rand(DataType.DOUBLE, 8), y), "mixed types");
    assertFalse(DirectBlas.gemv(w, false, Nd4j.rand(DataType.FLOAT, 7), y), "wrong length");
    assertFalse(DirectBlas.gemv(w.castTo(DataType.HALF), false, Nd4j.rand(DataType.HALF, 8),
        Nd4j.create(DataType.HALF, 6)), "half precision");
  }
}
