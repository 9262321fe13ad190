package dev.sparkgpt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Everything one SparkGPT checkpoint holds, as read back: weights and (for a resume) optimizer moments by name, and
 * the state.json document (step, data cursor, RNG, model section, tokenizer and data fingerprints, config). Inference
 * reads the weights only, leaving {@code optimizer} empty.
 */
public record CheckpointState(Path dir, long step, Map<String, INDArray> weights, Map<String, INDArray> optimizer,
    JsonNode state) {

  /** Where the data stream stood (state.json {@code cursor}). */
  public JsonNode cursor() {
    return state.path("cursor");
  }

  /** The dropout RNG state. */
  public long rng() {
    return state.path("rng").asLong();
  }

  /** The architecture section ({@code model}) the weights belong to. */
  public JsonNode model() {
    return state.path("model");
  }

  /** Whether this is a LoRA finetune's adapter checkpoint (adapters only; the base is named in state.json). */
  public boolean isAdapter() {
    return state.has("lora");
  }

  /** Hash of the vocabulary the model was trained with, if recorded. */
  public Optional<String> tokenizerHash() {
    return Fingerprints.tokenizerHash(state);
  }

  /** Hash of the token shards' manifest the run trained on, if recorded. */
  public Optional<String> manifestHash() {
    return Fingerprints.manifestHash(state);
  }
}
