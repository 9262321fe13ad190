package dev.sparkgpt.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The LM head (logits = h · Wᵀ) fused with the next-token cross-entropy, chunked over rows so that at most
 * {@link #CHUNK_LOGITS} logits exist at a time and only rows with a target are computed at all. Per chunk: one gemm
 * for the logits, one in-place softmax, the loss read off the target's probability, then the gradient softmax - 1
 * in the same buffer and two gemms (dW, dh). ND4J's log-softmax is 2× slower than softmax and SameDiff's
 * softmax cross-entropy ignores its incoming gradient (SameDiffOpChecksTest.lossOpIgnoresUpstreamGradient).
 */
final class LanguageModelHead {
  /** Targets equal to this are skipped (PyTorch's ignore_index). */
  static final int IGNORE_INDEX = -100;
  /** Below this a float32 probability may have underflowed: such a row's loss is recomputed exactly. */
  private static final double SMALLEST_TRUSTED_PROBABILITY = 1e-30;
  /** Logits held at once: 32M (128 MB in float32); a chunk is this many / vocab_size rows. */
  static final long CHUNK_LOGITS = 1L << 25;

  private final long chunkLogits;
  private final BufferPool pool;

  LanguageModelHead(BufferPool pool) {
    this(CHUNK_LOGITS, pool);
  }

  /** A head that holds at most {@code chunkLogits} logits at once (tests force several chunks). */
  LanguageModelHead(long chunkLogits, BufferPool pool) {
    this.chunkLogits = chunkLogits;
    this.pool = pool;
  }

  /**
   * Σ over rows with a target of weight · cross-entropy (the caller divides by its normalizer). When
   * {@code dHidden} is not null, writes ∂(Σ weight · CE / normalizer)/∂h into it ([N, C], zero on skipped rows)
   * and adds the weight gradient into {@code dWeight} ([V, C]).
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
    int vocab = (int) weight.size(0);
    int chunk = (int) Math.max(1, Math.min(rows.length, chunkLogits / vocab));
    double loss = 0;
    for (int start = 0; start < rows.length; start += chunk) {
      int[] chunkRows = Arrays.copyOfRange(rows, start, Math.min(rows.length, start + chunk));
      loss += chunk(hidden, weight, targets, tokenWeights, normalizer, dHidden, dWeight, chunkRows);
    }
    return loss;
  }

  /** Logits [N, V] for every row (eval, generation). */
  INDArray logits(INDArray hidden, INDArray weight) {
    return MatMul.product(hidden, weight, false, true);
  }

  private double chunk(INDArray hidden, INDArray weight, int[] targets, float[] tokenWeights, double normalizer,
      INDArray dHidden, INDArray dWeight, int[] rows) {
    int r = rows.length;
    boolean consecutive = rows[r - 1] - rows[0] == r - 1;
    DataType type = hidden.dataType();
    long c = hidden.size(1);
    INDArray h = consecutive ? hidden.get(NDArrayIndex.interval(rows[0], rows[0] + r), NDArrayIndex.all())
        : Nd4j.pullRows(hidden, pool.get("scratch.head.rows", type, r, c), 1, rows);       // [r, C]
    INDArray probabilities = pool.get("scratch.head.logits", type, r, weight.size(0));     // [r, V]
    Nd4j.gemm(h, weight, probabilities, false, true, 1.0, 0.0);                             // h · Wᵀ
    Nd4j.exec(new SoftMax(probabilities, probabilities, 1));
    double loss = 0;
    double[] scale = new double[r];
    long vocab = weight.size(0);
    FloatBuffer floats = type == DataType.FLOAT ? DirectBuffers.floats(probabilities) : null;
    DoubleBuffer doubles = type == DataType.FLOAT ? null : DirectBuffers.doubles(probabilities);
    for (int j = 0; j < r; j++) {
      int y = targets[rows[j]];
      int at = Math.toIntExact(j * vocab + y);                                            // [j, y]
      double w = tokenWeights == null ? 1.0 : tokenWeights[rows[j]];
      double p = floats != null ? floats.get(at) : doubles.get(at);
      double ce = p > SMALLEST_TRUSTED_PROBABILITY ? -Math.log(p) : exactCrossEntropy(h.getRow(j, true), weight, y);
      loss += w * ce;
      scale[j] = w / normalizer;
      if (dHidden != null) {                                                                // softmax - onehot
        if (floats != null) {
          floats.put(at, (float) (p - 1));
        } else {
          doubles.put(at, p - 1);
        }
      }
    }
    if (dHidden != null) {
      // rows are scaled on the small side: dW += Pᵀ (s ⊙ h), dh = s ⊙ (P W)
      INDArray s = Nd4j.createFromArray(scale).castTo(type);                                // [r]
      INDArray scaled = pool.get("scratch.head.scaled", type, r, c);
      Nd4j.exec(new BroadcastMulOp(h, s, scaled, 0));
      MatMul.accumulate(probabilities, scaled, dWeight, true, false);
      INDArray dh = pool.get("scratch.head.dh", type, r, c);                                 // [r, C]
      Nd4j.gemm(probabilities, weight, dh, false, false, 1.0, 0.0);
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

  /** log Σ exp(z) - z_y for one row, in double, from its logits recomputed (a row whose p_y underflowed). */
  private static double exactCrossEntropy(INDArray hRow, INDArray weight, int y) {
    INDArray z = MatMul.product(hRow, weight, false, true).castTo(DataType.DOUBLE);
    double max = z.maxNumber().doubleValue();
    double sum = Transforms.exp(z.sub(max), false).sumNumber().doubleValue();
    return max + Math.log(sum) - z.getDouble(0, y);
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
