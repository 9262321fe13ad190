package dev.sparkgpt.finetune;

import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
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
    Checkpoint ck = Checkpoint.open(base, HadoopConf.create(), "base");
    GptModel loaded = ck.model();
    ModelConfig mc = loaded.config().withClasses(classes);
    checkTokenizer(ck, mc, tok);
    GptParameters fresh = GptParameters.initialize(mc, DataType.FLOAT, seed);
    GptParameters from = loaded.parameters();
    for (String name : fresh.names()) {
      boolean newHead = classes > 0 && ParamNames.OUT_HEAD.equals(name);
      if (!newHead && from.names().contains(name)) {
        fresh.set(name, from.get(name));
      }
    }
    return new GptModel(fresh, ~seed);
  }

  /**
   * The trainable view of {@code model}: with LoRA (lora.r > 0) adapters on the configured targets and the weights
   * frozen; else the weights minus {@code frozen}. Prints what trains.
   */
  public static dev.sparkgpt.train.GptStepModel trainable(GptModel model, dev.sparkgpt.config.PretrainConfig.Optimizer
      optimizer, dev.sparkgpt.config.LoraConfig lora, java.util.Set<String> frozen, long seed, String name,
      java.io.PrintStream console) {
    long total = model.config().parameterCount();
    if (lora.r() > 0) {
      dev.sparkgpt.train.LoraAdapters adapters = new dev.sparkgpt.train.LoraAdapters(model.config(),
          model.parameters(), lora.r(), lora.alpha(), lora.dropout(), lora.targets(), seed);
      console.printf("%s: LoRA r=%d alpha=%s%s on %d weights: trainable parameters %,d of %,d (%.2f%%)%n", name,
          lora.r(), lora.alpha(), lora.dropout() > 0 ? " dropout=" + lora.dropout() : "",
          adapters.adapters().stream().map(dev.sparkgpt.model.LowRankAdapter::weight).distinct().count(),
          adapters.parameters().size(), total, 100.0 * adapters.parameters().size() / total);
      return new dev.sparkgpt.train.LoraStepModel(model, optimizer, adapters);
    }
    long trainable = 0;
    for (Map.Entry<String, org.nd4j.linalg.api.ndarray.INDArray> p : model.parameters().views().entrySet()) {
      trainable += frozen.contains(p.getKey()) ? 0 : p.getValue().length();
    }
    console.printf("%s: trainable parameters %,d of %,d%n", name, trainable, total);
    return new dev.sparkgpt.train.GptStepModel(model, optimizer).freeze(frozen);
  }

  /**
   * Refuses {@code tok} for the checkpoint at {@code path} (config {@code mc}) when it has more ids than the model's
   * vocabulary or when the checkpoint recorded another tokenizer (a Hugging Face directory records none).
   */
  public static void checkTokenizer(Checkpoint ck, ModelConfig mc, Tokenizer tok) {
    checkVocabulary(mc, tok, ck.uri());
    if (ck.tokenizerHash().isPresent() && !ck.tokenizerHash().get().equals(tok.hash())) {
      throw new ConfigException("data.tokenizer", ck.uri() + " was trained with another tokenizer than " + tok.name()
          + " (vocabulary hash differs)", "set data.tokenizer to the checkpoint's tokenizer");
    }
  }

  private static void checkVocabulary(ModelConfig mc, Tokenizer tok, String source) {
    if (mc.vocabSize() < tok.vocabSize()) {
      throw new ConfigException("data.tokenizer", tok.name() + " has " + tok.vocabSize() + " ids but " + source
          + " only " + mc.vocabSize(), "use the tokenizer the model was trained with");
    }
  }
}
