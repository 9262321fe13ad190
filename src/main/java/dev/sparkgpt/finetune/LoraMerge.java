package dev.sparkgpt.finetune;

import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.checkpoint.CheckpointState;
import dev.sparkgpt.checkpoint.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.data.TokenizerSpec;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputDir;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.train.LoraAdapters;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A LoRA finetune's checkpoint (adapters only) made into the model it stands for: the base rebuilt as the finetune
 * built it ({@link BaseModels#load} with the run's base_checkpoint, model_name, model overrides, seed and tokenizer
 * from its state.json, so a "random" base and a fresh classification head come out identical), the adapters put in and
 * applied. {@code sparkgpt merge} writes the result as a plain checkpoint, a finetune writes {@code OUT/merged} at its
 * end through the same {@link #write}, and {@link Checkpoint} uses {@link #merge} (as its {@link
 * Checkpoint.AdapterMerger}) so every verb can read an adapter directory directly.
 */
public final class LoraMerge implements Checkpoint.AdapterMerger {
  /** State keys of an adapter checkpoint that a plain one does not carry. */
  private static final List<String> ADAPTER_KEYS = List.of("lora", "format_version", "step", "epoch", "rng");

  /** For {@link java.util.ServiceLoader}. */
  public LoraMerge() {}

  @Override
  public GptModel merge(CheckpointState adapters) {
    return rebuild(adapters, null);
  }

  /** Loads an adapter checkpoint: a run directory (its latest step) or a step-NNNNNN directory. */
  public static CheckpointState loadAdapters(String checkpoint) {
    Checkpoint opened = Checkpoint.open(checkpoint);
    if (opened.kind() == Checkpoint.Kind.HUGGING_FACE) {
      throw new CheckpointException(checkpoint + " is a Hugging Face directory, not a LoRA finetune checkpoint. Fix: "
          + "point --checkpoint at the out_dir of a finetune run with lora.r > 0");
    }
    CheckpointState ck = opened.load(false);
    if (!ck.isAdapter()) {
      throw new CheckpointException(ck.dir() + " is not a LoRA finetune checkpoint (its state.json has no \"lora\" "
          + "section): it is a plain checkpoint already. Fix: use it as it is, or point --checkpoint at a LoRA run");
    }
    return ck;
  }

  /**
   * The model an adapter checkpoint stands for: its base ({@code base}, or null for the one state.json names)
   * rebuilt as the finetune did, with the checkpoint's adapters merged into the weights.
   */
  public static GptModel rebuild(CheckpointState ck, String base) {
    JsonNode state = ck.state();
    String where = ck.dir() + "/" + CheckpointStore.STATE;
    String basePath = base != null ? base : text(state, "base_checkpoint", where);
    if (!"random".equals(basePath) && !exists(basePath)) {
      throw new CheckpointException(ck.dir() + " holds LoRA adapters only and its base checkpoint " + basePath
          + " is not readable. Fix: sparkgpt merge --checkpoint " + ck.dir() + " --base BASE_DIR --out DIR (BASE_DIR: "
          + "where that base is now), then use DIR");
    }
    ObjectNode config = ConfigLoader.readYaml(text(state, "config_yaml", where), where + " config_yaml");
    JsonNode lora = state.path("lora");
    List<String> targets = new ArrayList<>();
    lora.path("targets").forEach(t -> targets.add(t.asText()));
    long seed = config.path("seed").asLong();
    @SuppressWarnings("unchecked")
    Map<String, Object> overrides = JsonFiles.MAPPER.convertValue(config.path("model"), Map.class);
    GptModel model = BaseModels.load(basePath, config.path("model_name").asText(), overrides,
        TokenizerSpec.resolve(config.path("data").path("tokenizer").asText("gpt2"), HadoopConf.create()).get(), seed,
        state.path("labels").size());
    LoraAdapters adapters = new LoraAdapters(model.config(), model.parameters(), lora.path("r").asInt(),
        lora.path("alpha").asDouble(), targets, seed);
    GptParameters p = adapters.parameters();
    for (String name : p.names()) {
      INDArray w = ck.weights().get(name);
      if (w == null) {
        throw new CheckpointException(ck.dir() + "/" + CheckpointStore.WEIGHTS + ": lacks adapter " + name + " (lora "
            + lora + " on " + basePath + "). Fix: use the checkpoint with the base it was trained on");
      }
      try {
        p.set(name, w);
      } catch (IllegalArgumentException e) {
        throw new CheckpointException(ck.dir() + "/" + CheckpointStore.WEIGHTS + ": " + e.getMessage() + " (base "
            + basePath + "). Fix: use the checkpoint with the base it was trained on", e);
      }
    }
    adapters.applyTo(model.parameters());
    return model;
  }

  private static boolean exists(String path) {
    try {
      Path p = new Path(path);
      return p.getFileSystem(HadoopConf.create()).exists(p);
    } catch (IOException e) {
      return false;
    }
  }

  private static String text(JsonNode state, String key, String where) {
    if (!state.path(key).isTextual()) {
      throw new CheckpointException(where + ": no \"" + key + "\" (not written by a LoRA finetune?)");
    }
    return state.get(key).asText();
  }

  /**
   * Writes {@code model} as a plain checkpoint (latest → step-NNNNNN, {@code _SUCCESS}) into {@code target}, all at
   * once: built in a hidden staging directory and renamed into place. {@code state} is the finetune's state (labels,
   * template, tokenizer, configs …) without what only adapters need. An existing non-empty {@code target} is
   * refused unless {@code replace}.
   */
  public static Path write(String target, GptModel model, long step, Map<String, Object> state, boolean replace,
      Configuration conf) {
    Path path = new Path(target);
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!replace && fs.exists(path) && (!fs.getFileStatus(path).isDirectory() || fs.listStatus(path).length > 0)) {
        throw new InputException(target + ": exists and is not empty. Fix: choose another --out or remove it");
      }
    } catch (IOException e) {
      throw new InputException(target + ": cannot inspect output path: " + e.getMessage(), e);
    }
    Map<String, Object> plain = new LinkedHashMap<>(state);
    ADAPTER_KEYS.forEach(plain::remove);
    OutputDir out = OutputDir.create(target, CheckpointStore.LATEST, conf);
    try {
      new CheckpointStore(out.staging().toString(), conf, 1).save(step, model.parameters().toMap(DataType.FLOAT),
          Map.of(), plain);
      out.commit();
    } catch (RuntimeException e) {
      out.abort();
      throw e;
    }
    return path;
  }

  /**
   * After a LoRA finetune: the model with the adapters merged in, as a plain checkpoint in {@code outDir/merged}
   * that generate, eval, classify and convert read like any run (its logits equal the adapted model's).
   */
  public static Path writeMerged(String outDir, GptModel model, long step, Map<String, Object> state,
      Configuration conf) {
    return write(new Path(outDir, "merged").toString(), model, step, state, true, conf);
  }

  /**
   * {@code sparkgpt merge}: the adapter checkpoint {@code checkpoint} (run or step directory) merged into its base
   * ({@code base}, or null for the one it names) and written as a plain checkpoint to {@code out}.
   */
  public static Path mergeInto(String checkpoint, String base, String out, Configuration conf) {
    CheckpointState ck = loadAdapters(checkpoint);
    GptModel model = rebuild(ck, base);
    @SuppressWarnings("unchecked")
    Map<String, Object> state = JsonFiles.MAPPER.convertValue(ck.state(), LinkedHashMap.class);
    state.put("merged_from", ck.dir().toString());
    if (base != null) {
      state.put("base_checkpoint", base);
    }
    return write(out, model, ck.step(), state, false, conf);
  }
}
