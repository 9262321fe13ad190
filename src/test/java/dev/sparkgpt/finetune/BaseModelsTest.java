package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.LoraConfig;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.config.Trainable;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** What a finetune starts from: the printed trainable-parameter count, and bases whose vocabulary does not fit. */
class BaseModelsTest {
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");
  private static final PretrainConfig.Optimizer ADAMW = new PretrainConfig.Optimizer(1e-3, 1e-3, 0, 0.9, 0.999, 1e-8);

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  private static String trainableLine(LoraConfig lora, Set<String> frozen) {
    // vocab 100, context 16, width 8, 2 heads, 2 blocks, untied head: 3,440 parameters
    GptModel model = GptModel.initialize(new ModelConfig(100, 16, 8, 2, 2, 0, false, false), DataType.FLOAT, 1);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BaseModels.trainable(model, ADAMW, lora, frozen, 1, "test", new PrintStream(bytes, true, StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theTrainableParameterCountIsPrinted() {
    // per block: qkv 2·(8+24) + proj 2·(8+8) + fc 2·(8+32) + down 2·(32+8) = 256; two blocks + head 2·(8+100) = 728
    assertEquals("test: LoRA r=2 alpha=4.0 on 9 weights: trainable parameters 728 of 3,440 (21.16%)\n",
        trainableLine(new LoraConfig(2, 4, 0, List.of("attn_qkv", "attn_proj", "mlp_fc", "mlp_proj", "head")),
            Set.of()));
    assertEquals("test: LoRA r=2 alpha=4.0 on 2 weights: trainable parameters 128 of 3,440 (3.72%)\n",
        trainableLine(new LoraConfig(2, 4, 0, List.of("attn_qkv")), Set.of()));
    // query, key and value apart: 3 adapters on each block's qkv weight, 3 · 2·(8+8) per block
    assertEquals("test: LoRA r=2 alpha=4.0 dropout=0.1 on 2 weights: trainable parameters 192 of 3,440 (5.58%)\n",
        trainableLine(new LoraConfig(2, 4, 0.1, List.of("attn_q", "attn_k", "attn_v")), Set.of()));
    ModelConfig mc = new ModelConfig(100, 16, 8, 2, 2, 0, false, false);
    assertEquals("test: trainable parameters 800 of 3,440\n", trainableLine(LoraConfig.defaults(),
        ClassifyFinetune.frozen(mc, Trainable.HEAD)), "the 100 × 8 head alone");
    assertEquals("test: trainable parameters 3,440 of 3,440\n", trainableLine(LoraConfig.defaults(), Set.of()));
  }

  @Test
  void aRandomOrHuggingFaceBaseWithFewerIdsThanTheTokenizerIsRefused() {
    ConfigException random = assertThrows(ConfigException.class, () -> BaseModels.load("random", "gpt2-tiny",
        Map.of("vocab_size", 1000), GPT2, 1, 2));
    assertEquals("data.tokenizer: gpt2 has 50257 ids but model_name gpt2-tiny only 1000. Fix: use the tokenizer the "
        + "model was trained with", random.getMessage());
    String llama = "src/test/resources/fixtures/llama-hf-tiny";
    ConfigException hf = assertThrows(ConfigException.class, () -> BaseModels.load(llama, "gpt2-tiny", Map.of(),
        GPT2, 1, 0));
    assertEquals("data.tokenizer: gpt2 has 50257 ids but " + llama + " only 32000. Fix: use the tokenizer the model "
        + "was trained with", hf.getMessage());
    // a Hugging Face GPT-2 records no tokenizer: the vocabulary size is all that is checked, and it fits
    GptModel gpt2 = BaseModels.load("src/test/resources/fixtures/gpt2-hf-tiny", "gpt2-tiny", Map.of(), GPT2, 1, 2);
    assertEquals(50257, gpt2.config().vocabSize());
    assertEquals(2, gpt2.config().numClasses());
  }
}
