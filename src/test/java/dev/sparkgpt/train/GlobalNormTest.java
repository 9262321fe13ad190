package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.model.DirectBuffers;
import dev.sparkgpt.model.OneThread;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GlobalNormTest {
  static {
    OneThread.pin();
  }

  /** 30M values 0.001 · (1 + i mod 7): exact norm computed in double. */
  private static INDArray longVector() {
    INDArray v = Nd4j.createUninitialized(DataType.FLOAT, 30_000_000);
    FloatBuffer values = DirectBuffers.floats(v);
    float[] chunk = new float[7000];
    for (int i = 0; i < chunk.length; i++) {
      chunk[i] = 0.001f * (1 + i % 7);
    }
    for (int from = 0; from < v.length(); from += chunk.length) {
      values.put(chunk, 0, (int) Math.min(chunk.length, v.length() - from));
    }
    return v;
  }

  private static double exactNorm(INDArray v) {
    FloatBuffer values = DirectBuffers.floats(v);
    double sum = 0;
    for (int i = 0; i < v.length(); i++) {
      double x = values.get(i);
      sum += x * x;
    }
    return Math.sqrt(sum);
  }

  @Test
  void normOfALongFloatVectorIsAccurate() {
    INDArray v = longVector();
    double exact = exactNorm(v);
    assertEquals(exact, GlobalNorm.of(v), exact * 1e-4); // float32 BLAS dot within each 1M chunk
    assertEquals(5.0, GlobalNorm.of(Nd4j.createFromArray(3f, 4f)), 1e-6);
    assertEquals(5.0, GlobalNorm.of(Nd4j.createFromArray(3.0, 4.0)), 1e-15);
  }

  @Test
  void nd4jNorm2LosesPrecisionOnLongFloatVectors() {
    // why GlobalNorm exists: float32 accumulation in norm2Number
    INDArray v = longVector();
    double exact = exactNorm(v);
    double nd4j = v.norm2Number().doubleValue();
    assertTrue(Math.abs(nd4j - exact) / exact > 1e-3, "norm2Number " + nd4j + " vs exact " + exact);
  }
}
