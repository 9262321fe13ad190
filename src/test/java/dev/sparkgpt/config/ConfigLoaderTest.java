package dev.sparkgpt.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @Test
  void yamlThenOverridesThenFlagsWin(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("t.yaml");
    Files.writeString(yaml, "input: [a.txt, b.txt]\noutput: out\nseq_len: 64\nval_fraction: 0.2\n");
    List<String> echoed = new ArrayList<>();
    TokenizeConfig c = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), yaml,
        List.of("seq_len=128", "split=tokens"), Map.of("output", "flag-out"), echoed::add);
    assertEquals(List.of("a.txt", "b.txt"), c.input());
    assertEquals("flag-out", c.output());
    assertEquals(128, c.seqLen());
    assertEquals(0.2, c.valFraction());
    assertEquals(SplitBy.TOKENS, c.split());
    assertEquals("gpt2", c.tokenizer()); // default kept
    assertEquals(List.of("override seq_len = 128", "override split = tokens"), echoed);
  }

  @Test
  void unknownYamlKeyIsNamedWithTheValidOnes(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("t.yaml");
    Files.writeString(yaml, "seq_lenn: 64\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(TokenizeConfig.class,
        TokenizeConfig.defaults(), yaml, List.of(), null));
    assertTrue(e.getMessage().startsWith("seq_lenn: unknown key"), e.getMessage());
    assertTrue(e.getMessage().contains("seq_len") && e.getMessage().contains("val_fraction"), e.getMessage());
    assertTrue(e.getMessage().contains(yaml.toString()), e.getMessage());
  }

  @Test
  void unknownOverrideKeyIsNamed() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(TokenizeConfig.class,
        TokenizeConfig.defaults(), null, List.of("data.seq_len=3"), null));
    assertEquals("data", e.key());
    assertTrue(e.getMessage().contains("use one of"), e.getMessage());
  }

  @Test
  void wrongTypeNamesKeyAndValue() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(TokenizeConfig.class,
        TokenizeConfig.defaults(), null, List.of("seq_len=abc"), null));
    assertTrue(e.getMessage().startsWith("seq_len:"), e.getMessage());
    assertTrue(e.getMessage().contains("abc"), e.getMessage());
  }

  /** Enum keys read in their YAML spelling and refuse anything else by listing what is allowed. */
  @Test
  void enumKeysReadTheirSpellingAndListTheAllowedValues() {
    PretrainConfig c = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), null,
        List.of("train.outer_optimizer=nesterov", "train.exchange_dtype=bf16", "train.strategy=parameter_averaging"),
        null);
    assertEquals(OuterUpdate.NESTEROV, c.train().outerOptimizer());
    assertEquals(ExchangeDtype.BF16, c.train().exchangeDtype());
    assertEquals(Strategy.PARAMETER_AVERAGING, c.train().strategy());
    ConfigException outer = assertThrows(ConfigException.class, () -> ConfigLoader.load(PretrainConfig.class,
        PretrainConfig.defaults(), null, List.of("train.outer_optimizer=adam"), null));
    assertTrue(outer.getMessage().contains("train.outer_optimizer: 'adam' is not one of [average, nesterov]"),
        outer.getMessage());
    ConfigException dtype = assertThrows(ConfigException.class, () -> ConfigLoader.load(PretrainConfig.class,
        PretrainConfig.defaults(), null, List.of("train.exchange_dtype=fp16"), null));
    assertTrue(dtype.getMessage().contains("train.exchange_dtype: 'fp16' is not one of [f32, bf16]"),
        dtype.getMessage());
  }

  @Test
  void badYamlSyntaxNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("bad.yaml");
    Files.writeString(yaml, "seq_len: 64\ninput: [a.txt\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(TokenizeConfig.class,
        TokenizeConfig.defaults(), yaml, List.of(), null));
    assertTrue(e.getMessage().contains("bad.yaml") && e.getMessage().contains("line"), e.getMessage());
  }

  @Test
  void missingFileIsNamed(@TempDir Path dir) {
    Path yaml = dir.resolve("nope.yaml");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(TokenizeConfig.class,
        TokenizeConfig.defaults(), yaml, List.of(), null));
    assertTrue(e.getMessage().contains("nope.yaml") && e.getMessage().contains("not found"), e.getMessage());
  }

  @Test
  void validateListsEveryProblemAtOnce() {
    TokenizeConfig c = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null,
        List.of("seq_len=0", "val_fraction=1.5"), null);
    ConfigException e = assertThrows(ConfigException.class, c::validate);
    assertTrue(e.getMessage().contains("seq_len: must be at least 1, got 0"), e.getMessage());
    assertTrue(e.getMessage().contains("val_fraction"), e.getMessage());
    assertTrue(e.getMessage().contains("input: no input given"), e.getMessage());
  }

  @Test
  void everyTokenizeConfigUnderConfLoads() throws Exception {
    try (var files = Files.list(Path.of("conf/tokenize"))) {
      List<Path> yamls = files.filter(p -> p.toString().endsWith(".yaml")).toList();
      assertTrue(yamls.size() >= 2, "expected conf/tokenize/*.yaml");
      for (Path yaml : yamls) {
        TokenizeConfig c = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), yaml, List.of(), null);
        assertTrue(c.problems().isEmpty(), yaml + ": " + c.problems());
      }
    }
  }

  @Test
  void modelOverridesAreFreeFormInTheConfigAndCheckedAgainstThePreset(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("p.yaml");
    Files.writeString(yaml, "model_name: gpt2-tiny\nmodel:\n  n_layers: 1\ndata:\n  text: x.txt\n");
    PretrainConfig c = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), yaml,
        List.of("model.context_length=64"), null);
    assertEquals(Map.of("n_layers", 1, "context_length", 64), c.model());
    ModelConfig m = ModelConfigs.resolve(c.modelName(), c.model());
    assertEquals(1, m.numLayers());
    assertEquals(64, m.contextLength());
    assertEquals(128, m.embeddingDim()); // from conf/model/gpt2-tiny.yaml
    ConfigException e = assertThrows(ConfigException.class,
        () -> ModelConfigs.resolve("gpt2-tiny", Map.of("n_layer", 3)));
    assertTrue(e.getMessage().startsWith("model.n_layer: unknown key"), e.getMessage());
    ConfigException p = assertThrows(ConfigException.class, () -> ModelConfigs.resolve("gpt2-huge", Map.of()));
    assertTrue(p.getMessage().contains("gpt2-huge") && p.getMessage().contains("gpt2-124m"), p.getMessage());
  }

  @Test
  void everyPretrainConfigUnderConfLoadsWithItsModel() throws Exception {
    try (var files = Files.list(Path.of("conf/pretrain"))) {
      for (Path yaml : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        PretrainConfig c = ConfigLoader.load(PretrainConfig.class, PretrainConfig.defaults(), yaml, List.of(), null)
            .validate();
        assertTrue(ModelConfigs.resolve(c.modelName(), c.model()).parameterCount() > 0, yaml.toString());
      }
    }
  }
}
