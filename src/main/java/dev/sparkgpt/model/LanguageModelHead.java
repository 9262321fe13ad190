package dev.sparkgpt.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The LM head (logits = h · Wᵀ) fused with the next-token cross-entropy, chunked over rows so that at most
 * {@link #CHUNK_LOGITS} logits exist at a time and only rows with a target are computed at all. Per chunk: one gemm
 * for the logits, then in place e = exp(z - max) and its row sums, the loss max + log Σe - z_y (exact, nothing
 * underflows), the gradient as e - Σe · onehot in the same buffer with 1 / Σe folded into the row scale, and two
 * gemms (dW, dh). The probabilities are never normalized in memory: a pass over [rows, V] saved. ND4J's
 * log-softmax is 2× slower than softmax and SameDiff's softmax cross-entropy ignores its incoming gradient
 * (SameDiffOpChecksTest.lossOpIgnoresUpstreamGradient). A low-rank adapter on out_head adds s · (drop(h)·A)·B to the
 * logits of each chunk (its rows of drop(h)·A, computed once for all rows) and takes its gradient from the same
 * buffer; without a weight gradient array (a frozen head) the [V, C] weight gradient is not computed at all.
 */
final class LanguageModelHead {
  /** Targets equal to this are skipped (PyTorch's ignore_index). */
  static final int IGNORE_INDEX = -100;
  /** Logits held at once: 32M (128 MB in float32); a chunk is this many / vocab_size rows. */
  static final long CHUNK_LOGITS = 1L << 25;

  private final long chunkLogits;
  private final BufferPool pool;
  private final Adapters adapters;

  LanguageModelHead(BufferPool pool) {
    this(CHUNK_LOGITS, pool);
  }

  /** A head that holds at most {@code chunkLogits} logits at once (tests force several chunks). */
  LanguageModelHead(long chunkLogits, BufferPool pool) {
    this(chunkLogits, pool, new Adapters(pool));
  }

  /** With the model's adapter registry (adapters on {@link ParamNames#OUT_HEAD}). */
  LanguageModelHead(long chunkLogits, BufferPool pool, Adapters adapters) {
    this.chunkLogits = chunkLogits;
    this.pool = pool;
    this.adapters = adapters;
  }

  /**
   * Σ over rows with a target of weight · cross-entropy (the caller divides by its normalizer). When
   * {@code dHidden} is not null, writes ∂(Σ weight · CE / normalizer)/∂h into it ([N, C], zero on skipped rows)
   * and adds the weight gradient into {@code dWeight} ([V, C]; null: frozen, not computed) and the adapters' into
   * theirs.
   *
   * @param hidden [N, C] final hidden states
   * @param weight [V, C] token embedding (tied) or out_head
   * @param targets [N] next-token ids or {@link #IGNORE_INDEX}
   * @param tokenWeights [N] non-negative loss weights, or null for all 1
   */
  double lossAndGradient(INDArray hidden, INDArray weight, int[] targets, float[] tokenWeights, double normalizer,
      INDArray dHidden, INDArray dWeight) {
    int[] rows = activeRows(targets, tokenWeights);
    if (dHidden != null) {
      dHidden.assign(0);
    }
    List<LowRankAdapter> adapted = adapters.on(ParamNames.OUT_HEAD);
    for (LowRankAdapter a : adapted) {
      a.project(hidden, pool);
    }
    double loss = 0;
    for (int[] chunkRows : chunks(rows, weight)) {
      loss += chunk(hidden, weight, targets, tokenWeights, normalizer, dHidden, dWeight, chunkRows, adapted);
    }
    if (dHidden != null) {
      for (LowRankAdapter a : adapted) {
        a.inputGradient(dHidden, pool);
      }
    }
    return loss;
  }

  /**
   * Eval scoring without the full logits: for each row with a target (not {@link #IGNORE_INDEX}) writes ln p(target)
   * into {@code logProbs} and whether the target is the first index of the row's largest logit into {@code greedy}
   * (both [N]; rows without a target are left alone). Only those rows go through the head, in the chunks of
   * {@link #lossAndGradient}; each row's log-softmax is taken in double over the logits as computed (float32 for
   * a float32 model), the arithmetic of a double log-sum-exp over a full float logits row.
   */
  void targetLogProbs(INDArray hidden, INDArray weight, int[] targets, double[] logProbs, boolean[] greedy) {
    int[] rows = activeRows(targets, null);
    List<LowRankAdapter> adapted = adapters.on(ParamNames.OUT_HEAD);
    for (LowRankAdapter a : adapted) {
      a.project(hidden, pool);
    }
    int vocab = (int) weight.size(0);
    double[] z = new double[vocab];
    float[] zf = hidden.dataType() == DataType.FLOAT ? new float[vocab] : null;
    for (int[] chunkRows : chunks(rows, weight)) {
      INDArray logits = rowLogits(rowsOf(hidden, chunkRows), weight, chunkRows, adapted);       // [r, V]
      FloatBuffer floats = zf != null ? DirectBuffers.floats(logits) : null;
      DoubleBuffer doubles = zf != null ? null : DirectBuffers.doubles(logits);
      for (int j = 0; j < chunkRows.length; j++) {
        if (floats != null) {
          floats.get(j * vocab, zf);
          for (int v = 0; v < vocab; v++) {
            z[v] = zf[v];
          }
        } else {
          doubles.get(j * vocab, z);
        }
        int row = chunkRows[j];
        int y = targets[row];
        int best = 0;                                                 // first index of the maximum (numpy's rule)
        for (int v = 1; v < vocab; v++) {
          if (z[v] > z[best]) {
            best = v;
          }
        }
        double max = z[best];
        double logSumExp = max;
        if (max != Double.NEGATIVE_INFINITY && !Double.isNaN(max)) {
          double sum = 0;
          for (int v = 0; v < vocab; v++) {
            sum += Math.exp(z[v] - max);
          }
          logSumExp = max + Math.log(sum);
        }
        logProbs[row] = z[y] - logSumExp;
        greedy[row] = best == y;
      }
    }
  }

  /** Logits [N, V] for every row (eval, generation). */
  INDArray logits(INDArray hidden, INDArray weight) {
    INDArray logits = MatMul.product(hidden, weight, false, true);
    adapters.forward(ParamNames.OUT_HEAD, hidden, logits);
    return logits;
  }

  /** Logits [1, V] of one row (a pooled buffer, valid until the next call): through gemv, not a packing gemm. */
  INDArray nextLogits(INDArray row, INDArray weight) {
    INDArray out = pool.get("head.next_logits", row.dataType(), 1, weight.size(0));
    MatMul.into(row, weight, out, true);
    return out;
  }

  private double chunk(INDArray hidden, INDArray weight, int[] targets, float[] tokenWeights, double normalizer,
      INDArray dHidden, INDArray dWeight, int[] rows, List<LowRankAdapter> adapted) {
    int r = rows.length;
    boolean consecutive = consecutive(rows);
    DataType type = hidden.dataType();
    long c = hidden.size(1);
    long vocab = weight.size(0);
    INDArray h = rowsOf(hidden, rows);                                                      // [r, C]
    INDArray exps = rowLogits(h, weight, rows, adapted);                                    // [r, V]
    FloatBuffer floats = type == DataType.FLOAT ? DirectBuffers.floats(exps) : null;
    DoubleBuffer doubles = type == DataType.FLOAT ? null : DirectBuffers.doubles(exps);
    double[] picked = new double[r];
    for (int j = 0; j < r; j++) {
      int at = Math.toIntExact(j * vocab + targets[rows[j]]);                               // z[j, y]
      picked[j] = floats != null ? floats.get(at) : doubles.get(at);
    }
    INDArray max = exps.max(1);                                                              // [r]
    exps.subiColumnVector(max);
    Nd4j.exec(new Exp(exps, exps));                                                          // e = exp(z - max)
    double[] maxima = max.toDoubleVector();
    double[] sums = Reductions.rowSums(exps, "scratch.head.sums", pool, 1.0).toDoubleVector(); // Σ e
    double loss = 0;
    double[] scale = new double[r];
    for (int j = 0; j < r; j++) {
      double w = tokenWeights == null ? 1.0 : tokenWeights[rows[j]];
      loss += w * (maxima[j] + Math.log(sums[j]) - picked[j]);                              // log Σ exp z - z_y
      scale[j] = w / (normalizer * sums[j]);
      if (dHidden != null) {                                                                // e - Σe · onehot
        int at = Math.toIntExact(j * vocab + targets[rows[j]]);
        if (floats != null) {
          floats.put(at, (float) (floats.get(at) - sums[j]));
        } else {
          doubles.put(at, doubles.get(at) - sums[j]);
        }
      }
    }
    if (dHidden != null) {
      // gradient rows = s_j (e_j - Σe_j onehot) with s_j = w_j / (normalizer Σe_j); scaled on the small side:
      // dW += eᵀ (s ⊙ h), dh = s ⊙ (e W)
      INDArray s = Nd4j.createFromArray(scale).castTo(type);                                // [r]
      if (dWeight != null) {
        INDArray scaled = pool.get("scratch.head.scaled", type, r, c).assign(h).muliColumnVector(s);
        MatMul.accumulate(exps, scaled, dWeight, true, false);
      }
      for (LowRankAdapter a : adapted) {
        a.outputGradient(exps, rows, s, pool);
      }
      INDArray dh = pool.get("scratch.head.dh", type, r, c);                                 // [r, C]
      MatMul.gemm(exps, weight, dh, false, false, 1.0, 0.0);
      dh.muliColumnVector(s);
      if (consecutive) {
        dHidden.get(NDArrayIndex.interval(rows[0], rows[0] + r), NDArrayIndex.all()).assign(dh);
      } else {
        for (int j = 0; j < r; j++) {
          dHidden.putRow(rows[j], dh.getRow(j));
        }
      }
    }
    return loss;
  }

  /** {@code rows} (ascending) cut into chunks of at most {@link #chunkLogits} logits, at least one row each. */
  private List<int[]> chunks(int[] rows, INDArray weight) {
    int chunk = (int) Math.max(1, Math.min(rows.length, chunkLogits / weight.size(0)));
    List<int[]> chunks = new java.util.ArrayList<>();
    for (int start = 0; start < rows.length; start += chunk) {
      chunks.add(Arrays.copyOfRange(rows, start, Math.min(rows.length, start + chunk)));
    }
    return chunks;
  }

  /** Rows {@code rows} (ascending) of hidden [N, C]: a view when they are consecutive, else a pooled copy. */
  private INDArray rowsOf(INDArray hidden, int[] rows) {
    int r = rows.length;
    return consecutive(rows) ? hidden.get(NDArrayIndex.interval(rows[0], rows[0] + r), NDArrayIndex.all())
        : Nd4j.pullRows(hidden, pool.get("scratch.head.rows", hidden.dataType(), r, hidden.size(1)), 1, rows);
  }

  /** z = h · Wᵀ + the head adapters' s (drop(h) A) B for the chunk's {@code rows}: a pooled [r, V] buffer. */
  private INDArray rowLogits(INDArray h, INDArray weight, int[] rows, List<LowRankAdapter> adapted) {
    INDArray z = pool.get("scratch.head.logits", h.dataType(), rows.length, weight.size(0));
    MatMul.gemm(h, weight, z, false, true, 1.0, 0.0);
    for (LowRankAdapter a : adapted) {
      a.addOutput(z, rows, pool);
    }
    return z;
  }

  private static boolean consecutive(int[] rows) {
    return rows[rows.length - 1] - rows[0] == rows.length - 1;
  }

  /** Rows with a target and a non-zero weight, ascending. */
  static int[] activeRows(int[] targets, float[] tokenWeights) {
    int[] rows = new int[targets.length];
    int n = 0;
    for (int i = 0; i < targets.length; i++) {
      if (targets[i] != IGNORE_INDEX && (tokenWeights == null || tokenWeights[i] != 0)) {
        rows[n++] = i;
      }
    }
    return Arrays.copyOf(rows, n);
  }
}
