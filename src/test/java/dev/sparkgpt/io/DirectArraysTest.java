package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Range copies against ND4J's own element access, on a whole vector and on an offset view of one. */
class DirectArraysTest {
  private static INDArray vector() {
    INDArray v = Nd4j.create(DataType.FLOAT, 100);
    for (int i = 0; i < 100; i++) {
      v.putScalar(i, i * 0.5f - 7);
    }
    return v;
  }

  @Test
  void readsAndWritesRangesOfAVectorAndOfAView() {
    INDArray flat = vector();
    INDArray view = flat.get(NDArrayIndex.interval(10, 60));
    for (INDArray a : new INDArray[] {flat, view}) {
      float[] got = new float[7];
      DirectArrays.readRange(a, 5, got, 2, 5);
      float[] want = new float[7];
      for (int i = 0; i < 5; i++) {
        want[2 + i] = a.getFloat(5 + i);
      }
      assertArrayEquals(want, got);

      byte[] bytes = DirectArrays.rangeBytes(a, 3, 4);
      float[] decoded = new float[4];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(decoded);
      assertArrayEquals(new float[] {a.getFloat(3), a.getFloat(4), a.getFloat(5), a.getFloat(6)}, decoded);
    }

    DirectArrays.writeRange(new float[] {0, 1, 2, 3}, 1, view, 20, 3);   // view[20..23) = flat[30..33)
    ByteBuffer le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    le.putFloat(42f).putFloat(43f);
    DirectArrays.writeBytes(le.array(), view, 0);                         // flat[10], flat[11]
    INDArray expected = vector();
    expected.putScalar(30, 1f);
    expected.putScalar(31, 2f);
    expected.putScalar(32, 3f);
    expected.putScalar(10, 42f);
    expected.putScalar(11, 43f);
    assertArrayEquals(expected.toFloatVector(), flat.toFloatVector());
  }
}
