package dev.sparkgpt.train;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.model.GptModel;
import org.nd4j.linalg.api.buffer.DataType;

/** Builds the GPT + AdamW for training, on the driver and inside Spark executors (serialisable, no arrays). */
public record GptModelFactory(ModelConfig config, PretrainConfig.Optimizer optimizer, long seed)
    implements ParameterAveragingEngine.ModelFactory {

  @Override
  public StepModel create() {
    return new GptStepModel(GptModel.initialize(config, DataType.FLOAT, seed), optimizer);
  }

  @Override
  public String key() {
    return "gpt:" + config + ":" + optimizer + ":" + seed;
  }
}
