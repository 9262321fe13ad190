package dev.sparkgpt.config;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Finds a model's sizes by name: a YAML path, else {@code conf/model/<name>.yaml} under the SparkGPT home
 * ({@code -Dsparkgpt.home}, set by bin/sparkgpt) or the current directory, else the copy bundled in the jar
 * (so spark-submit on a cluster needs no conf/ directory).
 */
public final class ModelConfigs {
  private ModelConfigs() {}

  /** The preset {@code name} with {@code overrides} applied (keys are validated against the preset). */
  public static ModelConfig resolve(String name, Map<String, Object> overrides) {
    ObjectNode base = null;
    String source = null;
    Path home = Path.of(System.getProperty("sparkgpt.home", "."));
    Path[] candidates = name.endsWith(".yaml") || name.endsWith(".yml") ? new Path[] {Path.of(name)}
        : new Path[] {home.resolve("conf/model/" + name + ".yaml"), Path.of("conf/model/" + name + ".yaml")};
    for (Path candidate : candidates) {
      if (Files.isRegularFile(candidate)) {
        base = ConfigLoader.readYaml(candidate);
        source = candidate.toString();
        break;
      }
    }
    if (base == null) {
      try (InputStream in = ModelConfigs.class.getResourceAsStream("/conf/model/" + name + ".yaml")) {
        if (in != null) {
          source = "conf/model/" + name + ".yaml (bundled)";
          base = ConfigLoader.readYaml(new String(in.readAllBytes(), StandardCharsets.UTF_8), source);
        }
      } catch (IOException e) {
        throw new ConfigException("model_name", "cannot read the bundled preset " + name + ": " + e.getMessage(),
            null);
      }
    }
    if (base == null) {
      throw new ConfigException("model_name", "no model preset or YAML file '" + name + "'",
          "use one of conf/model/*.yaml (gpt2-tiny, gpt2-124m, gpt2-355m, gpt2-774m, gpt2-1558m, llama-tiny, "
              + "llama2-7b) or a path");
    }
    return ConfigLoader.loadWithOverrides(ModelConfig.class, base, source, overrides, "model");
  }

  /** The config as the map written into checkpoints (YAML keys). */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> describe(ModelConfig config) {
    return ConfigLoader.yamlMapper().convertValue(config, Map.class);
  }
}
