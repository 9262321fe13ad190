package dev.sparkgpt.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Resolves a config record from, in order: the record's defaults, a YAML file, then {@code key=value} overrides
 * (nanoGPT's configurator). Unknown keys are rejected by name with the valid ones; each override is echoed.
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML = newMapper();

  private ConfigLoader() {}

  /** The mapper every config file goes through: snake_case keys, unknown keys and null primitives rejected. */
  public static ObjectMapper yamlMapper() {
    return YAML;
  }

  private static ObjectMapper newMapper() {
    ObjectMapper mapper = new ObjectMapper(new YAMLFactory()
        .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
        .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    mapper.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    mapper.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    mapper.enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);
    mapper.disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS);
    return mapper;
  }

  /**
   * Loads {@code type}: {@code defaults} overlaid with {@code yamlFile} (may be null) and then {@code overrides}
   * ("a.b=value", value parsed as YAML). {@code echo} receives one line per applied override (may be null).
   */
  public static <T> T load(Class<T> type, T defaults, Path yamlFile, List<String> overrides, Consumer<String> echo) {
    return load(type, defaults, yamlFile, overrides, Map.of(), echo);
  }

  /**
   * As {@link #load(Class, Object, Path, List, Consumer)}, then {@code flags}: values a command's own options set
   * (dotted key → value, taken as is, so a path with commas or colons needs no quoting). Flags win.
   */
  public static <T> T load(Class<T> type, T defaults, Path yamlFile, List<String> overrides, Map<String, Object> flags,
      Consumer<String> echo) {
    ObjectNode tree = YAML.valueToTree(defaults);
    Set<String> openMaps = openMaps(type, "");
    String source = "defaults";
    if (yamlFile != null) {
      source = yamlFile.toString();
      mergeInto(tree, readYaml(yamlFile), "", source, openMaps);
    }
    for (String override : overrides) {
      applyOverride(tree, override, echo, openMaps);
      source = yamlFile == null ? "command line" : yamlFile + " + command line";
    }
    for (Map.Entry<String, Object> flag : flags.entrySet()) {
      if (flag.getValue() != null) {
        setKey(tree, flag.getKey(), YAML.valueToTree(flag.getValue()), openMaps);
        source = yamlFile == null ? "command line" : yamlFile + " + command line";
      }
    }
    return convert(tree, type, source);
  }

  /**
   * Loads {@code type} from a base YAML file (e.g. a model preset) overlaid with {@code overrides} (key → value,
   * nested maps merge); an override key the base does not have is refused as "{prefix}.key".
   */
  public static <T> T loadWithOverrides(Class<T> type, ObjectNode base, String source, Map<String, Object> overrides,
      String prefix) {
    ObjectNode tree = base.deepCopy();
    ObjectNode extra = YAML.valueToTree(overrides == null ? Map.of() : overrides);
    mergeInto(tree, extra, prefix.isEmpty() ? "" : prefix + ".", source + " + overrides");
    try {
      return convert(tree, type, source);
    } catch (ConfigException e) {
      throw e.key() == null || prefix.isEmpty() ? e : new ConfigException(prefix + "." + e.key(),
          e.getMessage().substring(e.key().length() + 2), null);
    }
  }

  /** Reads YAML text (e.g. a bundled resource) as a mapping; {@code source} names it in errors. */
  public static ObjectNode readYaml(String text, String source) {
    try {
      JsonNode node = YAML.readTree(text);
      if (node == null || !node.isObject()) {
        throw new ConfigException(source, "the top level must be a mapping of keys", "write 'key: value' lines");
      }
      return (ObjectNode) node;
    } catch (JsonProcessingException e) {
      throw new ConfigException(source + ": not valid YAML: " + e.getOriginalMessage(), e);
    }
  }

  /** Reads one YAML file as a mapping; a missing file or a syntax error names the file and the line. */
  public static ObjectNode readYaml(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigException(file.toString(), "config file not found", "pass an existing YAML file, e.g. one under conf/");
    }
    try {
      JsonNode node = YAML.readTree(file.toFile());
      if (node == null || node.isMissingNode() || node.isNull()) {
        return YAML.createObjectNode();
      }
      if (!node.isObject()) {
        throw new ConfigException(file.toString(), "the top level must be a mapping of keys, found " + node.getNodeType(),
            "write the file as 'key: value' lines");
      }
      return (ObjectNode) node;
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr();
      throw new ConfigException(file + ": not valid YAML" + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Overlays {@code from} onto {@code into}: mappings merge key by key, anything else replaces. */
  static void mergeInto(ObjectNode into, ObjectNode from, String prefix, String source) {
    mergeInto(into, from, prefix, source, Set.of());
  }

  /** As above; under the dotted paths in {@code openMaps} (Map-typed fields) any key is accepted. */
  static void mergeInto(ObjectNode into, ObjectNode from, String prefix, String source, Set<String> openMaps) {
    boolean open = openMaps.contains(prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1));
    Iterator<Map.Entry<String, JsonNode>> fields = from.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String key = field.getKey();
      JsonNode existing = into.get(key);
      if (existing == null && open) {
        into.set(key, field.getValue());
        continue;
      }
      if (existing == null) {
        throw unknownKey(prefix + key, into, source);
      }
      if (existing.isObject() && field.getValue().isObject()) {
        mergeInto((ObjectNode) existing, (ObjectNode) field.getValue(), prefix + key + ".", source, openMaps);
      } else {
        into.set(key, field.getValue());
      }
    }
  }

  private static void applyOverride(ObjectNode tree, String override, Consumer<String> echo, Set<String> openMaps) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException(override, "an override must look like key=value", "write e.g. --set seq_len=256");
    }
    String key = override.substring(0, eq).trim();
    String raw = override.substring(eq + 1);
    ObjectNode node = parentOf(tree, key, openMaps);
    String leaf = key.substring(key.lastIndexOf('.') + 1);
    JsonNode value;
    try {
      value = raw.isEmpty() ? YAML.getNodeFactory().textNode("") : YAML.readTree(raw);
      if (value == null || value.isMissingNode()) {
        value = YAML.getNodeFactory().nullNode();
      }
    } catch (JsonProcessingException e) {
      value = YAML.getNodeFactory().textNode(raw);
    }
    if (node.get(leaf) != null && node.get(leaf).isTextual() && value.isValueNode() && !value.isNull()) {
      value = YAML.getNodeFactory().textNode(raw); // keep "1e-3" or "true" literal for text keys
    }
    node.set(leaf, value);
    if (echo != null) {
      echo.accept("override " + key + " = " + raw);
    }
  }

  private static void setKey(ObjectNode tree, String key, JsonNode value, Set<String> openMaps) {
    parentOf(tree, key, openMaps).set(key.substring(key.lastIndexOf('.') + 1), value);
  }

  /** Dotted paths of the Map-typed record components of {@code type} (free-form keys, e.g. model overrides). */
  static Set<String> openMaps(Class<?> type, String prefix) {
    Set<String> out = new java.util.HashSet<>();
    if (!type.isRecord()) {
      return out;
    }
    for (java.lang.reflect.RecordComponent c : type.getRecordComponents()) {
      com.fasterxml.jackson.annotation.JsonProperty named =
          c.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
      String name = named != null ? named.value()
          : PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(c.getName());
      String path = prefix.isEmpty() ? name : prefix + "." + name;
      if (Map.class.isAssignableFrom(c.getType())) {
        out.add(path);
      } else if (c.getType().isRecord()) {
        out.addAll(openMaps(c.getType(), path));
      }
    }
    return out;
  }

  /**
   * The mapping that holds {@code key}'s last part; every part must be a known key, except inside open maps, where
   * missing mappings are created (--set pretrain.set.train.max_steps=20 in a pipeline's free-form overrides).
   */
  private static ObjectNode parentOf(ObjectNode tree, String key, Set<String> openMaps) {
    String[] parts = key.split("\\.");
    ObjectNode node = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      if (child == null && insideOpenMap(String.join(".", java.util.Arrays.copyOf(parts, i)), openMaps)) {
        child = node.putObject(parts[i]);
      }
      if (child == null || !child.isObject()) {
        throw unknownKey(String.join(".", java.util.Arrays.copyOf(parts, i + 1)), node, "command line");
      }
      node = (ObjectNode) child;
    }
    String leaf = parts[parts.length - 1];
    String parentPath = String.join(".", java.util.Arrays.copyOf(parts, parts.length - 1));
    if (!node.has(leaf) && !insideOpenMap(parentPath, openMaps)) {
      throw unknownKey(key, node, "command line");
    }
    return node;
  }

  /** Whether {@code path} is an open map or lies inside one. */
  private static boolean insideOpenMap(String path, Set<String> openMaps) {
    for (String open : openMaps) {
      if (path.equals(open) || path.startsWith(open + ".")) {
        return true;
      }
    }
    return false;
  }

  private static ConfigException unknownKey(String key, ObjectNode siblings, String source) {
    TreeSet<String> valid = new TreeSet<>();
    siblings.fieldNames().forEachRemaining(valid::add);
    return new ConfigException(key, "unknown key (in " + source + ")", "use one of " + String.join(", ", valid));
  }

  private static <T> T convert(ObjectNode tree, Class<T> type, String source) {
    try {
      return YAML.treeToValue(tree, type);
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ConfigException ce) {
        throw ce;
      }
      throw new ConfigException("invalid configuration (" + source + "): " + e.getOriginalMessage(), e);
    } catch (UnrecognizedPropertyException e) {
      List<String> valid = new ArrayList<>();
      e.getKnownPropertyIds().forEach(id -> valid.add(String.valueOf(id)));
      valid.sort(null);
      throw new ConfigException(path(e), "unknown key (in " + source + ")", "use one of " + String.join(", ", valid));
    } catch (InvalidFormatException e) {
      Class<?> target = e.getTargetType();
      if (target != null && target.isEnum()) {
        List<String> names = new ArrayList<>();
        for (Object constant : target.getEnumConstants()) {
          names.add(constant.toString());
        }
        throw new ConfigException(path(e), "'" + e.getValue() + "' is not one of " + names + " (in " + source + ")",
            "use one of " + String.join(", ", names));
      }
      throw new ConfigException(path(e), "cannot use '" + e.getValue() + "' (in " + source + ")",
          "give a value of type " + target.getSimpleName());
    } catch (MismatchedInputException e) {
      String target = e.getTargetType() == null ? "the documented type" : e.getTargetType().getSimpleName();
      throw new ConfigException(path(e), "wrong type (in " + source + "): " + e.getOriginalMessage(), "give a " + target);
    } catch (JsonProcessingException e) {
      throw new ConfigException("invalid configuration (" + source + "): " + e.getOriginalMessage(), e);
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.length() == 0 ? "(top level)" : sb.toString();
  }

  /** The resolved config as YAML text, for logs and checkpoints. */
  public static String toYaml(Object config) {
    try {
      return YAML.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write config as YAML", e);
    }
  }
}
