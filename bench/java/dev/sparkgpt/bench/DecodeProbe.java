package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.model.GptModel;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

public final class DecodeProbe {
  public static void main(String[] args) {
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
    Nd4j.factory().blas().setMaxThreads(1);
    ModelConfig config = ModelConfigs.resolve("gpt2-124m", Map.of("drop_rate", 0.0));
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 1);
    int[] ids = new Random(1).ints(300, 0, config.vocabSize()).toArray();
    for (int rep = 0; rep < 2; rep++) {
      for (int t : new int[] {8, 40, 72, 128, 200}) {
        long s = System.nanoTime();
        model.nextLogits(java.util.Arrays.copyOf(ids, t));
        System.out.printf("T=%d %.1f ms%n", t, (System.nanoTime() - s) / 1e6);
      }
    }
  }
}
