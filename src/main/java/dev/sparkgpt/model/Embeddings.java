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
  private final BufferPool pool;
  private int[] ids;          // [B·T] token ids of the last forward
  private int batch;
  private int time;
  private INDArray mask;      // [B·T, C] dropout mask or null

  Embeddings(BufferPool pool) {
    this.pool = pool;
  }

  /** ids [B][T] -> [B·T, C] (a buffer of this layer). */
  INDArray forward(GptParameters params, int[][] tokenIds, INDArray dropoutMask) {
    batch = tokenIds.length;
    time = tokenIds[0].length;
    ids = new int[batch * time];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(tokenIds[b], 0, ids, b * time, time);
    }
    INDArray tokens = params.get(ParamNames.TOKEN_EMBEDDING);
    long c = tokens.size(1);
    INDArray x = pool.get("embeddings.out", tokens.dataType(), ids.length, c);               // [B·T, C]
    Nd4j.pullRows(tokens, x, 1, ids);
    INDArray positions = params.get(ParamNames.POSITION_EMBEDDING)
        .get(NDArrayIndex.interval(0, time), NDArrayIndex.all());                            // [T, C]
    x.reshape(batch, time * c).addiRowVector(positions.reshape(1, time * c));                // [B, T·C] + [T·C]
    mask = dropoutMask;
    return mask == null ? x : x.muli(mask);
  }

  /** dx [B·T, C] (modified in place): adds into the token rows that were looked up and the first T positions. */
  void backward(GptParameters grads, INDArray dx) {
    INDArray d = mask == null ? dx : dx.muli(mask);
    INDArray positions = grads.get(ParamNames.POSITION_EMBEDDING)
        .get(NDArrayIndex.interval(0, time), NDArrayIndex.all());                            // [T, C]
    for (int b = 0; b < batch; b++) {
      positions.addi(d.get(NDArrayIndex.interval(b * time, (b + 1) * time), NDArrayIndex.all()));
    }
    INDArray tokens = grads.get(ParamNames.TOKEN_EMBEDDING);
    for (int row = 0; row < ids.length; row++) {
      tokens.getRow(ids[row]).addi(d.getRow(row));                                           // repeated ids add up
    }
  }
}
