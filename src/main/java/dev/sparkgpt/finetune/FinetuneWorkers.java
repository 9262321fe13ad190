package dev.sparkgpt.finetune;

import dev.sparkgpt.config.Strategy;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.LoraConfig;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.io.DirectArrays;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.train.AveragingRounds;
import dev.sparkgpt.train.ParameterAveragingEngine;
import dev.sparkgpt.train.StepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A finetune under parameter averaging: the Spark workers' models are the driver's — the base weights (frozen ones
 * and, with LoRA, the weights the adapters add to) broadcast once per job, the same trainable set, frozen names and
 * adapters — and every round then broadcasts what trains (weights or adapters) with its optimizer state.
 */
public final class FinetuneWorkers {
  private FinetuneWorkers() {}

  /**
   * The rounds of {@code workers} Spark tasks for {@code model} (as it is before training) trained as {@code step};
   * null for the local strategy.
   */
  public static AveragingRounds rounds(SparkSession spark, Strategy strategy, int workers, GptModel model,
      StepModel step, PretrainConfig.Optimizer optimizer, LoraConfig lora, Set<String> frozen, long seed) {
    if (strategy != Strategy.PARAMETER_AVERAGING) {
      return null;
    }
    if (spark == null) {
      throw new ConfigException("train.strategy", "parameter_averaging needs a Spark session",
          "run the finetune through bin/sparkgpt or spark-submit");
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<byte[]> base = jsc.broadcast(toBytes(model.parameters()));
    Factory factory = new Factory(model.config(), optimizer, lora, new TreeSet<>(frozen), seed, base);
    return new AveragingRounds(jsc, factory, step, workers, seed, AveragingRounds.Settings.AVERAGE);
  }

  private static byte[] toBytes(GptParameters p) {
    float[] flat = new float[Math.toIntExact(p.size())];
    DirectArrays.copyFloats(p.vector(), flat, 0);
    ByteBuffer bytes = ByteBuffer.allocate(flat.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(flat);
    return bytes.array();
  }

  /** Builds a worker's finetune model inside an executor from the broadcast base weights. */
  record Factory(ModelConfig config, PretrainConfig.Optimizer optimizer, LoraConfig lora, TreeSet<String> frozen,
      long seed, Broadcast<byte[]> base) implements ParameterAveragingEngine.ModelFactory {

    @Override
    public StepModel create() {
      byte[] bytes = base.value();
      float[] flat = new float[bytes.length / Float.BYTES];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(flat);
      GptParameters parameters = GptParameters.fromVector(config,
          DirectArrays.floats(flat, 0, flat.length), DataType.FLOAT);
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      return BaseModels.trainable(new GptModel(parameters, ~seed), optimizer, lora, frozen, seed, "worker", quiet);
    }

    @Override
    public String key() {
      return "finetune:" + base.id() + ":" + config + ":" + lora + ":" + frozen.hashCode();
    }
  }
}
