package dev.sparkgpt.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The low-rank adapters attached to one model, by the weight they adapt: each layer hands every linear product it
 * computes ({@link #forward}) and its gradient ({@link #backward}) to the adapters of that weight, if any. One
 * registry per model, shared by its layers; empty for a plain model (and always for the KV-cache decoder, which runs
 * on merged weights).
 */
final class Adapters {
  private final BufferPool pool;
  private List<LowRankAdapter> all = List.of();
  private Map<String, List<LowRankAdapter>> byWeight = Map.of();

  Adapters(BufferPool pool) {
    this.pool = pool;
  }

  /** Replaces the attached adapters (an empty list detaches them all). */
  void set(List<LowRankAdapter> adapters) {
    Map<String, List<LowRankAdapter>> map = new LinkedHashMap<>();
    for (LowRankAdapter a : adapters) {
      map.computeIfAbsent(a.weight(), w -> new ArrayList<>()).add(a);
    }
    all = List.copyOf(adapters);
    byWeight = map;
  }

  List<LowRankAdapter> all() {
    return all;
  }

  boolean isEmpty() {
    return all.isEmpty();
  }

  /** The adapters of weight {@code weight} (empty when it has none). */
  List<LowRankAdapter> on(String weight) {
    return byWeight.getOrDefault(weight, List.of());
  }

  /** Hands each adapter its dropout mask of {@code masks} (null masks, or none for it: no dropout). */
  void useMasks(DropoutMasks masks) {
    for (LowRankAdapter a : all) {
      a.useMask(masks == null || masks.adapters() == null ? null : masks.adapters().get(a.name()));
    }
  }

  void zeroGradients() {
    all.forEach(LowRankAdapter::zeroGradients);
  }

  /** y [N, out] = x · weight, computed by the layer: adds the adapters' terms of {@code weight}. */
  void forward(String weight, INDArray x, INDArray y) {
    for (LowRankAdapter a : on(weight)) {
      a.project(x, pool);
      a.addOutput(y, null, pool);
    }
  }

  /** dy [N, out] of that product, dx [N, in] already holding dy · weightᵀ: adds the adapters' share to dx. */
  void backward(String weight, INDArray dy, INDArray dx) {
    for (LowRankAdapter a : on(weight)) {
      a.outputGradient(dy, null, null, pool);
      a.inputGradient(dx, pool);
    }
  }
}
