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
 * every product goes through BLAS into a pooled output. Llama's variants: grouped-query attention (K = n_kv_groups
 * key/value heads, each copied to the H / K query heads it serves; their gradients summed back) and rotary position
 * embeddings on queries and keys ({@link RotaryEmbedding}). Low-rank adapters on the qkv and out_proj weights come
 * from {@link Adapters}; with gradients null (a frozen base) no weight gradient is computed.
 */
final class CausalSelfAttention {
  /** Added to scores above the diagonal: exp underflows to exactly 0, so future tokens have exactly no effect. */
  static final double MASKED = -1e9;
  private static final MMulTranspose TRANSPOSE_A = MMulTranspose.builder().transposeA(true).build();
  private static final MMulTranspose TRANSPOSE_B = MMulTranspose.builder().transposeB(true).build();

  private final int layer;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final boolean qkvBias;
  private final boolean outBias;
  private final RotaryEmbedding rope; // null with learned positions
  private final BufferPool pool;
  private final Adapters adapters;
  private final String key;
  private INDArray input;      // [N, C]           x of the last forward
  private INDArray qkvHeads;   // [3, B·H, T, D]   queries, keys, values per query head (after RoPE)
  private INDArray weights;    // [B·H·T, T]       softmax weights (before dropout)
  private INDArray dropped;    // [B·H·T, T]       weights after dropout (= weights without)
  private INDArray mask;       // [B·H·T, T]       attention dropout mask or null
  private INDArray merged;     // [N, C]           heads concatenated, input of out_proj
  private INDArray causalMask; // [1, T·T]
  private int batch;
  private int time;

  CausalSelfAttention(ModelConfig config, int layer, BufferPool pool) {
    this(config, layer, RotaryEmbedding.of(config), pool);
  }

  /** With the model's shared RoPE tables ({@code rope} null for learned positions). */
  CausalSelfAttention(ModelConfig config, int layer, RotaryEmbedding rope, BufferPool pool) {
    this(config, layer, rope, pool, new Adapters(pool));
  }

  /** With the model's adapter registry. */
  CausalSelfAttention(ModelConfig config, int layer, RotaryEmbedding rope, BufferPool pool, Adapters adapters) {
    this.layer = layer;
    this.heads = config.numHeads();
    this.kvHeads = config.numKvGroups();
    this.headDim = config.headDim();
    this.qkvBias = config.qkvBias();
    this.outBias = config.linearBias();
    this.rope = rope;
    this.pool = pool;
    this.adapters = adapters;
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
    int width = (heads + 2 * kvHeads) * headDim;
    INDArray qkv = pool.get("scratch.att.qkv", type, n, width);                              // [N, (H+2K)·D]
    MatMul.into(x, p.get(name(ParamNames.QKV_WEIGHT)), qkv, false);
    adapters.forward(name(ParamNames.QKV_WEIGHT), x, qkv);
    if (qkvBias) {
      qkv.addiRowVector(p.get(name(ParamNames.QKV_BIAS)));
    }
    qkvHeads = pool.get(key + "qkv_heads", type, 3, bh, time, headDim);
    if (kvHeads == heads) {                             // one strided copy: [B,T,3,H,D] -> [3,B,H,T,D]
      qkvHeads.reshape(3, batch, heads, time, headDim)
          .assign(qkv.reshape(batch, time, 3, heads, headDim).permute(2, 0, 3, 1, 4));
    } else {
      INDArray split = qkv.reshape(batch, time, heads + 2 * kvHeads, headDim);               // [B, T, H+2K, D]
      head(qkvHeads, 0).reshape(batch, heads, time, headDim).assign(part(split, 0));
      for (int part = 1; part < 3; part++) {            // each key/value head copied to the H/K query heads it serves
        INDArray groups = head(qkvHeads, part).reshape(batch, kvHeads, heads / kvHeads, time, headDim);
        for (int g = 0; g < heads / kvHeads; g++) {
          group(groups, g).assign(part(split, part));
        }
      }
    }
    if (rope != null) {
      rope.rotate(head(qkvHeads, 0), 0, false);
      rope.rotate(head(qkvHeads, 1), 0, false);
    }

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
    MatMul.into(merged, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), out, false);
    adapters.forward(name(ParamNames.ATTENTION_OUT_WEIGHT), merged, out);
    return outBias ? out.addiRowVector(p.get(name(ParamNames.ATTENTION_OUT_BIAS))) : out;
  }

  /**
   * dOut [N, C] -> dx [N, C] (a buffer of this layer); adds the projection gradients into {@code g} (null: frozen,
   * none computed) and the adapters' into theirs.
   */
  INDArray backward(GptParameters p, GptParameters g, INDArray dOut) {
    DataType type = dOut.dataType();
    long n = (long) batch * time;
    long bh = (long) batch * heads;
    int c = heads * headDim;
    Reductions.addLinearGradients(g, name(ParamNames.ATTENTION_OUT_WEIGHT),
        outBias ? name(ParamNames.ATTENTION_OUT_BIAS) : null, merged, dOut, pool);
    INDArray dMerged = pool.get("scratch.att.d_merged", type, n, c);                          // [N, C]
    Nd4j.gemm(dOut, p.get(name(ParamNames.ATTENTION_OUT_WEIGHT)), dMerged, false, true, 1.0, 0.0);
    adapters.backward(name(ParamNames.ATTENTION_OUT_WEIGHT), dOut, dMerged);
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

    if (rope != null) {
      rope.rotate(head(dHeads, 0), 0, true);
      rope.rotate(head(dHeads, 1), 0, true);
    }
    int width = (heads + 2 * kvHeads) * headDim;
    INDArray dQkv = pool.get("scratch.att.d_qkv", type, n, width);                          // [N, (H+2K)·D]
    if (kvHeads == heads) {                                 // [3,B,H,T,D] -> [B,T,3,H,D]
      dQkv.reshape(batch, time, 3, heads, headDim)
          .assign(dHeads.reshape(3, batch, heads, time, headDim).permute(1, 3, 0, 2, 4));
    } else {
      INDArray dSplit = dQkv.reshape(batch, time, heads + 2 * kvHeads, headDim);
      part(dSplit, 0).assign(head(dHeads, 0).reshape(batch, heads, time, headDim));
      for (int part = 1; part < 3; part++) {                // a key/value head's gradient: Σ over its query heads
        INDArray groups = head(dHeads, part).reshape(batch, kvHeads, heads / kvHeads, time, headDim);
        INDArray target = part(dSplit, part).assign(group(groups, 0));
        for (int copy = 1; copy < heads / kvHeads; copy++) {
          target.addi(group(groups, copy));
        }
      }
    }
    Reductions.addLinearGradients(g, name(ParamNames.QKV_WEIGHT), qkvBias ? name(ParamNames.QKV_BIAS) : null,
        input, dQkv, pool);
    INDArray dx = pool.get(key + "dx", type, n, c);
    Nd4j.gemm(dQkv, p.get(name(ParamNames.QKV_WEIGHT)), dx, false, true, 1.0, 0.0);
    adapters.backward(name(ParamNames.QKV_WEIGHT), dQkv, dx);
    return dx;
  }

  /** Queries (0), keys (1) or values (2) of [B, T, H+2K, D] as a [B, H or K, T, D] view. */
  private INDArray part(INDArray split, int part) {
    int from = part == 0 ? 0 : heads + (part - 1) * kvHeads;
    int to = part == 0 ? heads : from + kvHeads;
    return split.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(from, to), NDArrayIndex.all())
        .permute(0, 2, 1, 3);
  }

  /** Copy {@code g} of every key/value head in [B, K, H/K, T, D]: the [B, K, T, D] view of query heads k·H/K + g. */
  private static INDArray group(INDArray grouped, int g) {
    return grouped.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(g), NDArrayIndex.all(),
        NDArrayIndex.all());
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
