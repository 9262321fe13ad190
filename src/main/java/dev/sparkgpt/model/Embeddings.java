package dev.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Token + learned position embeddings: x[b, t] = tok_emb[id[b, t]] + pos_emb[t], then dropout. The token lookup is
 * a row gather forward and a row scatter-add backward, written out here (ND4J's gather gradient is wrong:
 * SameDiffOpChecksTest.gatherGradientIsWrong).
 */
final class Embeddings {
  private int[] ids;          // [B·T] token ids of the last forward
  private int batch;
  private int time;
  private INDArray mask;      // [B·T, C] dropout mask or null

  /** ids [B][T] -> [B·T, C]. */
  INDArray forward(GptParameters params, int[][] tokenIds, INDArray dropoutMask) {
    batch = tokenIds.length;
    time = tokenIds[0].length;
    ids = new int[batch * time];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(tokenIds[b], 0, ids, b * time, time);
    }
    INDArray tokens = params.get(ParamNames.TOKEN_EMBEDDING);
    int c = (int) tokens.size(1);
    INDArray x = Nd4j.pullRows(tokens, 1, ids);                                      // [B·T, C]
    INDArray positions = params.get(ParamNames.POSITION_EMBEDDING)
        .get(NDArrayIndex.interval(0, time), NDArrayIndex.all());                    // [T, C]
    x.reshape(batch, (long) time * c).addiRowVector(positions.reshape(1, (long) time * c)); // [B, T·C] + [T·C]
    mask = dropoutMask;
    return mask == null ? x : x.muli(mask);
  }

  /** dx [B·T, C]: adds into the token rows that were looked up and the first T position rows. */
  void backward(GptParameters grads, INDArray dx) {
    INDArray d = mask == null ? dx : dx.mul(mask);
    long c = d.size(1);
    INDArray positions = grads.get(ParamNames.POSITION_EMBEDDING)
        .get(NDArrayIndex.interval(0, time), NDArrayIndex.all());                    // [T, C]
    positions.addi(d.reshape(batch, time * c).sum(0).reshape(time, c));              // Σ over the batch
    INDArray tokens = grads.get(ParamNames.TOKEN_EMBEDDING);
    for (int row = 0; row < ids.length; row++) {
      tokens.getRow(ids[row]).addi(d.getRow(row));                                   // repeated ids add up
    }
  }
}
