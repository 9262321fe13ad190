package dev.sparkgpt.finetune;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.ModelLoader;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/** The model a finetune starts from: a SparkGPT or Hugging Face checkpoint, or a fresh one ("random"). */
public final class BaseModels {
  private BaseModels() {}

  /**
   * Loads {@code base} (or initialises {@code modelName} + {@code overrides} for "random") with an output head of
   * {@code classes} rows (0 = the language-model head, kept from the checkpoint; else a fresh, seeded head). Refuses a
   * checkpoint whose vocabulary does not fit {@code tok} or whose recorded tokenizer differs from it.
   */
  public static GptModel load(String base, String modelName, Map<String, Object> overrides, Tokenizer tok, long seed,
      int classes) {
    if ("random".equals(base)) {
      ModelConfig mc = ModelConfigs.resolve(modelName, overrides).withClasses(classes);
      checkVocabulary(mc, tok, "model_name " + modelName);
      return GptModel.initialize(mc, DataType.FLOAT, seed);
    }
    ModelLoader.Loaded loaded = ModelLoader.load(base);
    ModelConfig mc = loaded.model().config().withClasses(classes);
    checkVocabulary(mc, tok, base);
    ModelLoader.tokenizerHash(base).ifPresent(hash -> {
      if (!hash.equals(tok.hash())) {
        throw new ConfigException("data.tokenizer", base + " was trained with another tokenizer than " + tok.name()
            + " (vocabulary hash differs)", "set data.tokenizer to the checkpoint's tokenizer");
      }
    });
    GptParameters fresh = GptParameters.initialize(mc, DataType.FLOAT, seed);
    GptParameters from = loaded.model().parameters();
    for (String name : fresh.names()) {
      boolean newHead = classes > 0 && ParamNames.OUT_HEAD.equals(name);
      if (!newHead && from.names().contains(name)) {
        fresh.set(name, from.get(name));
      }
    }
    return new GptModel(fresh, ~seed);
  }

  private static void checkVocabulary(ModelConfig mc, Tokenizer tok, String source) {
    if (mc.vocabSize() < tok.vocabSize()) {
      throw new ConfigException("data.tokenizer", tok.name() + " has " + tok.vocabSize() + " ids but " + source
          + " only " + mc.vocabSize(), "use the tokenizer the model was trained with");
    }
  }
}
