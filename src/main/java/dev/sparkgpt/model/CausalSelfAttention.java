package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.Arrays;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Causal multi-head self-attention: one fused query/key/value projection, softmax(QKᵀ / √D + causal mask) with
 * dropout on the weights, the heads concatenated and projected back. Heads are batched ([B·H, T, D] products), and
 * every product goes through BLAS into a pooled output.
 */
final class CausalSelfAttention {
  /** Added to scores above the diagonal: exp underflows to exactly 0, so future tokens have exactly no effect. */
  static final double MASKED = -1e9;
  private static final MMulTranspose TRANSPOSE_A = MMulTranspose.builder().transposeA(true).build();
  private static final MMulTranspose TRANSPOSE_B = MMulTranspose.builder().transposeB(true).build();

  private final int layer;
  private final int heads;
  private final int headDim;
  private final boolean qkvBias;
  private final BufferPool pool;
  private final String key;
  private INDArray input;      // [N, C]           x of the last forward
  private INDArray qkvHeads;   // [3, B·H, T, D]   queries, keys, values per head
  private INDArray weights;    // [B·H·T, T]       softmax weights (before dropout)
  private INDArray dropped;    // [B·H·T, T]       weights after dropout (= weights without)
  private INDArray mask;       // [B·H·T, T]       attention dropout mask or null
  private INDArray merged;     // [N, C]           heads concatenated, input of out_proj
  private INDArray causalMask; // [1, T·T]
  private int batch;
  private int time;

  CausalSelfAttention(ModelConfig config, int layer, BufferPool pool) {
    this.layer = layer;
    this.heads = config.numHeads();
    this.headDim = config.headDim();
    this.qkvBias = config.qkvBias();
    this.pool = pool;
    this.key = ParamNames.block(layer, "att.");
  }

  /** x [N = B·T, C] -> [N, C] (a buffer of this layer). */
  INDArray forward(GptParameters p, INDArray x, int batch, int time, INDArray attentionMask) {
    this.input = x;
    this.batch = batch;
    this.time = time;
    this.mask = attentionMask;
    DataType type = x.dataType();
    long n = (long) batch * time;
    long bh = (long) batch * heads;
    int c = heads * headDim;
    INDArray qkv = pool.get("scratch.att.qkv", type, n, 3L * c);                            // [N, 3C]
    Nd4j.gemm(x, p.get(name(ParamNames.QKV_WEIGHT)), qkv, false, false, 1.0, 0.0);
    if (qkvBias) {
      qkv.addiRowVector(p.get(name(ParamNames.QKV_BIAS)));
    }
    qkvHeads = pool.get(key + "qkv_heads", type, 3, bh, time, headDim);
    qkvHeads.reshape(3, batch, heads, time, headDim)
        .assign(qkv.reshape(batch, time, 3, heads, headDim).permute(2, 0, 3, 1, 4));   // [B,T,3,H,D] -> [3,B,H,T,D]

    INDArray scores = pool.get(key + "weights", type, bh, time, time);                       // [B·H, T, T]
    Nd4j.exec(new Mmul(head(qkvHeads, 0), head(qkvHeads, 1), scores, TRANSPOSE_B));         // Q Kᵀ
    scores.muli(1.0 / Math.sqrt(headDim));
    scores.reshape(bh, (long) time * time).addiRowVector(causalMask(type, time));
    weights = scores.reshape(bh * time, time);                                                 // [B·H·T, T]
    Reductions.softmaxRows(weights, "scratch.att.row_sums", pool);
    dropped = mask == null ? weights : weights.mul(mask, pool.get(key + "dropped", type, bh * time, time));

    INDArray context = pool.get("scratch.att.context", type, bh, time, headDim);             // [B·H, T, D]
    Nd4j.exec(new Mmul(dropped.reshape(bh, time, time), head(qkvHeads, 2), context, MMulTranspose.allFalse()));
    merged = pool.get(key + "merged", type, n, c);                                            // [N, C]
    merged.reshape(batch, time, heads, headDim)
        .assign(context.reshape(batch, heads, time, headDim).permute(0, 2, 1, 3));      // [B,H,T,D] -> [B,T,H,D]
    INDArray out = pool.get(key + "out", type, n, c);
    Nd4j.gemm(merged, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), out, false, false, 1.0, 0.0);
    return out.addiRowVector(p.get(name(ParamNames.ATTENTION_OUT_BIAS)));
  }

  /** dOut [N, C] -> dx [N, C] (a buffer of this layer); adds the projection gradients into {@code g}. */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    DataType type = dOut.dataType();
    long n = (long) batch * time;
    long bh = (long) batch * heads;
    int c = heads * headDim;
    MatMul.accumulate(merged, dOut, g.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), true, false);
    Reductions.addColumnSums(dOut, g.get(name(ParamNames.ATTENTION_OUT_BIAS)), pool);
    INDArray dMerged = pool.get("scratch.att.d_merged", type, n, c);                          // [N, C]
    Nd4j.gemm(dOut, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), dMerged, false, true, 1.0, 0.0);
    INDArray dContext = pool.get("scratch.att.d_context", type, bh, time, headDim);
    dContext.reshape(batch, heads, time, headDim)
        .assign(dMerged.reshape(batch, time, heads, headDim).permute(0, 2, 1, 3));      // [B,T,H,D] -> [B,H,T,D]

    INDArray dHeads = pool.get("scratch.att.d_heads", type, 3, bh, time, headDim);          // [3, B·H, T, D]
    INDArray dWeights = pool.get("scratch.att.d_weights", type, bh, time, time);            // [B·H, T, T]
    Nd4j.exec(new Mmul(dContext, head(qkvHeads, 2), dWeights, TRANSPOSE_B));                 // dP = dY Vᵀ
    Nd4j.exec(new Mmul(dropped.reshape(bh, time, time), dContext, head(dHeads, 2), TRANSPOSE_A)); // dV = Pᵀ dY
    INDArray dScores = dWeights.reshape(bh * time, time);                                     // [B·H·T, T]
    if (mask != null) {
      dScores.muli(mask);
    }
    // softmax backward: dS = P ⊙ (dP - Σ_j dP·P), then the 1/√D scale
    INDArray product = pool.get("scratch.att.product", type, bh * time, time);
    INDArray rowDot = Reductions.rowSums(dScores.mul(weights, product), "scratch.att.row_dot", pool, 1.0);
    dScores.subiColumnVector(rowDot.reshape(bh * time)).muli(weights).muli(1.0 / Math.sqrt(headDim));
    Nd4j.exec(new Mmul(dWeights, head(qkvHeads, 1), head(dHeads, 0), MMulTranspose.allFalse())); // dQ = dS K
    Nd4j.exec(new Mmul(dWeights, head(qkvHeads, 0), head(dHeads, 1), TRANSPOSE_A));          // dK = dSᵀ Q

    INDArray dQkv = pool.get("scratch.att.d_qkv", type, n, 3L * c);                          // [N, 3C]
    dQkv.reshape(batch, time, 3, heads, headDim)
        .assign(dHeads.reshape(3, batch, heads, time, headDim).permute(1, 3, 0, 2, 4)); // [3,B,H,T,D] -> [B,T,3,H,D]
    MatMul.accumulate(input, dQkv, g.get(name(ParamNames.QKV_WEIGHT)), true, false);
    if (qkvBias) {
      Reductions.addColumnSums(dQkv, g.get(name(ParamNames.QKV_BIAS)), pool);
    }
    INDArray dx = pool.get(key + "dx", type, n, c);
    Nd4j.gemm(dQkv, p.get(name(ParamNames.QKV_WEIGHT)), dx, false, true, 1.0, 0.0);
    return dx;
  }

  private static INDArray head(INDArray stacked, int part) {
    return stacked.get(NDArrayIndex.point(part));                                              // [B·H, T, D]
  }

  private String name(String suffix) {
    return ParamNames.block(layer, suffix);
  }

  /** [1, T·T]: 0 on and below the diagonal, {@link #MASKED} above; kept for the last (type, T). */
  private INDArray causalMask(DataType dataType, int time) {
    if (causalMask == null || causalMask.dataType() != dataType || causalMask.length() != (long) time * time) {
      double[] values = new double[time * time];
      for (int row = 0; row < time; row++) {
        Arrays.fill(values, row * time + row + 1, (row + 1) * time, MASKED);
      }
      causalMask = Nd4j.createFromArray(values).reshape(1, (long) time * time).castTo(dataType);
    }
    return causalMask;
  }
}
