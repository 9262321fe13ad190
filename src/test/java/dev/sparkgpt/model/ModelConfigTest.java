package dev.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
  private static final Path PRESETS = Path.of("conf/model");
  private static final ObjectMapper PLAIN_YAML = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  static ModelConfig preset(String name) throws Exception {
    return PLAIN_YAML.readValue(PRESETS.resolve(name + ".yaml").toFile(), ModelConfig.class);
  }

  /** The book's GPT_CONFIG_124M (chapter 4): no qkv bias, separate output head. */
  private static ModelConfig book124m(boolean qkvBias, boolean tied) {
    return new ModelConfig(50257, 1024, 768, 12, 12, 0.1, qkvBias, tied);
  }

  @Test
  void bookParameterCountsHoldWithoutQkvBias() {
    // Chapter 4 prints 163,009,536 (separate out_head) and 124,412,160 once the head is tied; its config has
    // qkv_bias False, so these two figures have no query/key/value bias.
    assertEquals(163_009_536L, book124m(false, false).parameterCount());
    assertEquals(124_412_160L, book124m(false, true).parameterCount());
  }

  @Test
  void gpt2SmallWithQkvBiasHasHuggingFacesCount() {
    // GPT-2 itself has the qkv bias: 12 × 3 × 768 = 27,648 more, the 124,439,808 Hugging Face reports for "gpt2".
    assertEquals(163_037_184L, book124m(true, false).parameterCount());
    assertEquals(124_439_808L, book124m(true, true).parameterCount());
  }

  @Test
  void presetsLoadWithThePlainYamlMapperAndTheConfigLoadersMapper() throws Exception {
    ModelConfig small = preset("gpt2-124m");
    assertEquals(new ModelConfig(50257, 1024, 768, 12, 12, 0.1, true, true), small);
    assertEquals(124_439_808L, small.parameterCount());
    assertEquals(64, small.headDim());
    assertEquals(new ModelConfig(50257, 1024, 1024, 16, 24, 0.1, true, true), preset("gpt2-355m"));
    assertEquals(354_823_168L, preset("gpt2-355m").parameterCount());
    assertEquals(new ModelConfig(50257, 1024, 1280, 20, 36, 0.1, true, true), preset("gpt2-774m"));
    assertEquals(774_030_080L, preset("gpt2-774m").parameterCount());
    assertEquals(new ModelConfig(50257, 1024, 1600, 25, 48, 0.1, true, true), preset("gpt2-1558m"));
    assertEquals(1_557_611_200L, preset("gpt2-1558m").parameterCount());
    ModelConfig tiny = preset("gpt2-tiny");
    assertEquals(new ModelConfig(50257, 128, 128, 4, 2, 0.1, false, true), tiny);
    assertEquals(6_845_312L, tiny.parameterCount()); // the figure its YAML comment quotes
    assertEquals(tiny, ConfigLoader.yamlMapper().readValue(PRESETS.resolve("gpt2-tiny.yaml").toFile(),
        ModelConfig.class));
  }

  @Test
  void llamaPresetsHaveTheirDocumentedShapesAndCounts() throws Exception {
    ModelConfig tiny = preset("llama-tiny");
    assertEquals(new ModelConfig(50257, 128, 128, 4, 2, 0.0, false, false, 0, ModelConfig.RMSNORM, 1e-5,
        ModelConfig.SWIGLU, 344, ModelConfig.ROPE, 10000.0, 2, false), tiny);
    assertEquals(13_228_928L, tiny.parameterCount()); // the figure its YAML comment quotes
    ModelConfig llama2 = preset("llama2-7b");
    assertEquals(ModelConfig.llama(32000, 4096, 4096, 32, 32, 32, 11008, 10000), llama2);
    assertEquals(6_738_415_616L, llama2.parameterCount()); // Meta's and Hugging Face's figure for Llama 2 7B
    assertEquals(128, llama2.headDim());
    assertEquals(tiny, ConfigLoader.yamlMapper().readValue(PRESETS.resolve("llama-tiny.yaml").toFile(),
        ModelConfig.class));
  }

  @Test
  void architectureKeysDefaultToGpt2AndBadCombinationsAreRefusedByKey() {
    ModelConfig gpt2 = new ModelConfig(10, 4, 8, 2, 1, 0, false, true);
    assertTrue(gpt2.hasGpt2Architecture());
    assertEquals(32, gpt2.hiddenDim());
    assertEquals(2, gpt2.numKvGroups());
    assertEquals(24, gpt2.qkvWidth());
    ConfigException groups = assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 12, 3, 1, 0, false,
        false, 0, ModelConfig.RMSNORM, 1e-5, ModelConfig.SWIGLU, 16, ModelConfig.ROPE, 1e4, 2, false));
    assertEquals("model.n_kv_groups", groups.key());
    assertTrue(groups.getMessage().contains("n_kv_groups=2 does not divide n_heads=3"), groups.getMessage());
    ConfigException odd = assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 6, 2, 1, 0, false,
        false, 0, null, null, null, null, ModelConfig.ROPE, null, null, null));
    assertEquals("model.positional", odd.key());
    assertTrue(odd.getMessage().contains("head width emb_dim / n_heads = 3 is odd"), odd.getMessage());
    ConfigException norm = assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 8, 2, 1, 0, false,
        false, 0, "batchnorm", null, null, null, null, null, null, null));
    assertEquals("model.norm", norm.key());
    assertTrue(norm.getMessage().contains("use one of layernorm, rmsnorm, dyt"), norm.getMessage());
    assertEquals("model.mlp", assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 8, 2, 1, 0, false,
        false, 0, null, null, "relu", null, null, null, null, null)).key());
    assertEquals("model.norm_eps", assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 8, 2, 1, 0,
        false, false, 0, null, 0.0, null, null, null, null, null, null)).key());
  }

  @Test
  void everyPresetKeyCarriesAComment() throws Exception {
    try (Stream<Path> files = Files.list(PRESETS)) {
      for (Path file : files.toList()) {
        for (String line : Files.readAllLines(file)) {
          if (!line.isBlank() && !line.startsWith("#")) {
            assertTrue(line.contains(" # "), file + ": key without a comment: " + line);
          }
        }
        assertFalse(preset(file.getFileName().toString().replace(".yaml", "")).toString().isEmpty());
      }
    }
  }

  @Test
  void writesTheSnakeCaseKeysItReads() throws Exception {
    String yaml = ConfigLoader.yamlMapper().writeValueAsString(preset("gpt2-tiny"));
    for (String key : List.of("vocab_size", "context_length", "emb_dim", "n_heads", "n_layers", "drop_rate",
        "qkv_bias", "tie_embeddings")) {
      assertTrue(yaml.contains(key + ":"), yaml);
    }
    assertEquals(preset("gpt2-tiny"), PLAIN_YAML.readValue(yaml, ModelConfig.class));
  }

  @Test
  void unknownKeyIsRefused() {
    assertThrows(UnrecognizedPropertyException.class, () -> PLAIN_YAML.readValue(
        "vocab_size: 10\ncontext_length: 4\nemb_dim: 8\nn_heads: 2\nn_layers: 1\ndrop_rate: 0\nqkv_bias: false\n"
            + "tie_embeddings: true\nn_embd: 8\n", ModelConfig.class));
  }

  @Test
  void headsThatDoNotDivideTheWidthAreNamedWithBoth() {
    ConfigException e = assertThrows(ConfigException.class, () -> new ModelConfig(10, 4, 10, 3, 1, 0, false, true));
    assertEquals("model.n_heads", e.key());
    assertTrue(e.getMessage().contains("n_heads=3") && e.getMessage().contains("emb_dim=10"), e.getMessage());
  }

  @Test
  void eachSizeMustBePositive() {
    assertEquals("model.vocab_size", assertThrows(ConfigException.class,
        () -> new ModelConfig(0, 4, 8, 2, 1, 0, false, true)).key());
    assertEquals("model.context_length", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, -1, 8, 2, 1, 0, false, true)).key());
    assertEquals("model.emb_dim", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 0, 2, 1, 0, false, true)).key());
    assertEquals("model.n_heads", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 8, 0, 1, 0, false, true)).key());
    assertEquals("model.n_layers", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 8, 2, 0, 0, false, true)).key());
  }

  @Test
  void dropRateMustBeBelowOne() {
    assertEquals("model.drop_rate", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 8, 2, 1, 1.0, false, true)).key());
    assertEquals("model.drop_rate", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 8, 2, 1, -0.1, false, true)).key());
    assertEquals("model.drop_rate", assertThrows(ConfigException.class,
        () -> new ModelConfig(10, 4, 8, 2, 1, Double.NaN, false, true)).key());
  }

  @Test
  void yamlValidationErrorKeepsTheConfigException() {
    ValueInstantiationException e = assertThrows(ValueInstantiationException.class, () -> PLAIN_YAML.readValue(
        "vocab_size: 10\ncontext_length: 4\nemb_dim: 8\nn_heads: 3\nn_layers: 1\ndrop_rate: 0\nqkv_bias: false\n"
            + "tie_embeddings: true\n", ModelConfig.class));
    assertTrue(e.getCause() instanceof ConfigException, String.valueOf(e.getCause()));
  }

  @Test
  void trainingFlopsOfALlamaCountTheNarrowKeyValueAndTheGate() {
    ModelConfig c = ModelConfig.llama(100, 16, 8, 2, 1, 1, 12, 10000);
    // qkv 8·(2+2·1)·4 = 128, out 64, gate/up/down 3·8·12 = 288: 480 weights; head 800; attention 12·8·16 = 1536
    assertEquals(6 * (480 + 800) + 1536, c.trainingFlopsPerToken(16), 1e-9);
  }

  @Test
  void trainingFlopsCountMatrixProductsAndAttention() {
    ModelConfig c = new ModelConfig(100, 16, 8, 2, 1, 0, false, true);
    // blocks: 3·64 + 64 + 2·8·32 = 768 weights; head 800; attention 12·1·8·16 = 1536
    assertEquals(6 * (768 + 800) + 1536, c.trainingFlopsPerToken(16), 1e-9);
  }
}
