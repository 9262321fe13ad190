package dev.sparkgpt.eval;

import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.TargetScores;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The GPT as evaluation scores with it, loaded from a checkpoint path per executor: scored positions through
 * {@link GptModel#targetLogProbs} (the LM head on those rows only, no [B, T, V] logits), full eval-mode logits on
 * request.
 */
public final class GptScoringModel implements ScoringModel {
  private final GptModel model;

  public GptScoringModel(GptModel model) {
    this.model = model;
  }

  /** A factory that loads {@code checkpoint} where it runs (driver or executor; the path must be reachable). */
  public static ModelFactory factory(String checkpoint) {
    return () -> new GptScoringModel(Checkpoint.open(checkpoint).model());
  }

  @Override
  public int contextLength() {
    return model.config().contextLength();
  }

  @Override
  public int vocabSize() {
    return model.config().vocabSize();
  }

  @Override
  public float[][][] logits(int[][] ids) {
    INDArray logits = model.logits(ids).castTo(DataType.FLOAT);
    int b = ids.length;
    int t = ids[0].length;
    int v = vocabSize();
    float[] flat = logits.dup('c').data().asFloat();
    float[][][] out = new float[b][t][v];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        System.arraycopy(flat, (i * t + j) * v, out[i][j], 0, v);
      }
    }
    return out;
  }

  @Override
  public TargetScores targetLogProbs(int[][] ids, int[][] targets) {
    return model.targetLogProbs(ids, targets);
  }
}
