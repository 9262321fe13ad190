package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.Arrays;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Causal multi-head self-attention: one fused query/key/value projection, softmax(QKᵀ / √D + causal mask) with
 * dropout on the weights, the heads concatenated and projected back. Heads are batched ([B·H, T, D] products), and
 * every matrix product goes through BLAS into a preallocated output.
 */
final class CausalSelfAttention {
  /** Added to scores above the diagonal: exp underflows to exactly 0, so future tokens have exactly no effect. */
  static final double MASKED = -1e9;

  private final int layer;
  private final int heads;
  private final int headDim;
  private final boolean qkvBias;
  private INDArray input;      // [N, C]           x of the last forward
  private INDArray qkvHeads;   // [3, B·H, T, D]   queries, keys, values per head
  private INDArray weights;    // [B·H·T, T]       softmax weights (before dropout)
  private INDArray dropped;    // [B·H·T, T]       weights after dropout (= weights without)
  private INDArray mask;       // [B·H·T, T]       attention dropout mask or null
  private INDArray merged;     // [N, C]           heads concatenated, input of out_proj
  private INDArray causalMask; // [1, T·T]
  private int batch;
  private int time;

  CausalSelfAttention(ModelConfig config, int layer) {
    this.layer = layer;
    this.heads = config.numHeads();
    this.headDim = config.headDim();
    this.qkvBias = config.qkvBias();
  }

  /** x [N = B·T, C] -> [N, C]. */
  INDArray forward(GptParameters p, INDArray x, int batch, int time, INDArray attentionMask) {
    this.input = x;
    this.batch = batch;
    this.time = time;
    this.mask = attentionMask;
    int c = heads * headDim;
    INDArray qkv = MatMul.product(x, p.get(name(ParamNames.QKV_WEIGHT)), false, false);           // [N, 3C]
    if (qkvBias) {
      qkv.addiRowVector(p.get(name(ParamNames.QKV_BIAS)));
    }
    qkvHeads = Nd4j.create(x.dataType(), 3, (long) batch * heads, time, headDim);
    qkvHeads.reshape(3, batch, heads, time, headDim)
        .assign(qkv.reshape(batch, time, 3, heads, headDim).permute(2, 0, 3, 1, 4));   // [B,T,3,H,D] -> [3,B,H,T,D]
    INDArray q = qkvHeads.get(NDArrayIndex.point(0));                                    // [B·H, T, D]
    INDArray k = qkvHeads.get(NDArrayIndex.point(1));
    INDArray v = qkvHeads.get(NDArrayIndex.point(2));

    INDArray scores = Nd4j.create(x.dataType(), (long) batch * heads, time, time);       // [B·H, T, T]
    Nd4j.exec(new Mmul(q, k, scores, MMulTranspose.builder().transposeB(true).build())); // Q Kᵀ
    scores.muli(1.0 / Math.sqrt(headDim));
    scores.reshape((long) batch * heads, (long) time * time).addiRowVector(causalMask(x.dataType(), time));
    weights = scores.reshape((long) batch * heads * time, time);                           // [B·H·T, T]
    Nd4j.exec(new SoftMax(weights, weights, 1));
    dropped = mask == null ? weights : weights.mul(mask);

    INDArray context = Nd4j.create(x.dataType(), (long) batch * heads, time, headDim);   // [B·H, T, D]
    Nd4j.exec(new Mmul(dropped.reshape((long) batch * heads, time, time), v, context, MMulTranspose.allFalse()));
    merged = Nd4j.create(x.dataType(), (long) batch * time, c);                           // [N, C]
    merged.reshape(batch, time, heads, headDim)
        .assign(context.reshape(batch, heads, time, headDim).permute(0, 2, 1, 3));      // [B,H,T,D] -> [B,T,H,D]
    INDArray out = MatMul.product(merged, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), false, false); // [N, C]
    return out.addiRowVector(p.get(name(ParamNames.ATTENTION_OUT_BIAS)));
  }

  /** dOut [N, C] -> dx [N, C]; adds the projection gradients into {@code g}. */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    long bh = (long) batch * heads;
    MatMul.accumulate(merged, dOut, g.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), true, false);
    g.get(name(ParamNames.ATTENTION_OUT_BIAS)).addi(dOut.sum(0));
    INDArray dMerged = MatMul.product(dOut, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), false, true); // [N, C]
    INDArray dContext = Nd4j.create(dOut.dataType(), bh, time, headDim);
    dContext.reshape(batch, heads, time, headDim)
        .assign(dMerged.reshape(batch, time, heads, headDim).permute(0, 2, 1, 3));      // [B,T,H,D] -> [B,H,T,D]

    INDArray q = qkvHeads.get(NDArrayIndex.point(0));
    INDArray k = qkvHeads.get(NDArrayIndex.point(1));
    INDArray v = qkvHeads.get(NDArrayIndex.point(2));
    INDArray dHeads = Nd4j.create(dOut.dataType(), 3, bh, time, headDim);                 // [3, B·H, T, D]
    INDArray dWeights = Nd4j.create(dOut.dataType(), bh, time, time);                     // [B·H, T, T]
    Nd4j.exec(new Mmul(dContext, v, dWeights, MMulTranspose.builder().transposeB(true).build()));  // dP = dY Vᵀ
    Nd4j.exec(new Mmul(dropped.reshape(bh, time, time), dContext, dHeads.get(NDArrayIndex.point(2)),
        MMulTranspose.builder().transposeA(true).build()));                              // dV = Pᵀ dY
    INDArray dScores = dWeights.reshape(bh * time, time);                                 // [B·H·T, T]
    if (mask != null) {
      dScores.muli(mask);
    }
    // softmax backward: dS = P ⊙ (dP - Σ_j dP·P), then the 1/√D scale
    INDArray rowDot = dScores.mul(weights).sum(1);                                        // [B·H·T]
    dScores.subiColumnVector(rowDot).muli(weights).muli(1.0 / Math.sqrt(headDim));
    INDArray dS = dScores.reshape(bh, time, time);
    Nd4j.exec(new Mmul(dS, k, dHeads.get(NDArrayIndex.point(0)), MMulTranspose.allFalse())); // dQ = dS K
    Nd4j.exec(new Mmul(dS, q, dHeads.get(NDArrayIndex.point(1)),
        MMulTranspose.builder().transposeA(true).build()));                              // dK = dSᵀ Q

    INDArray dQkv = Nd4j.create(dOut.dataType(), (long) batch * time, 3L * heads * headDim); // [N, 3C]
    dQkv.reshape(batch, time, 3, heads, headDim)
        .assign(dHeads.reshape(3, batch, heads, time, headDim).permute(1, 3, 0, 2, 4)); // [3,B,H,T,D] -> [B,T,3,H,D]
    MatMul.accumulate(input, dQkv, g.get(name(ParamNames.QKV_WEIGHT)), true, false);
    if (qkvBias) {
      g.get(name(ParamNames.QKV_BIAS)).addi(dQkv.sum(0));
    }
    return MatMul.product(dQkv, p.get(name(ParamNames.QKV_WEIGHT)), false, true);              // [N, C]
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
