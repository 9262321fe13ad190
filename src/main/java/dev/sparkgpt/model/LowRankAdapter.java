package dev.sparkgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A low-rank adapter (LoRA) on one linear weight of the model, computed beside it rather than merged into it: the layer
 * computes y = x·W + s · (drop(x)·A)·B on the adapter's output columns [from, from + width) (all of them, or the
 * query, key or value columns of the fused qkv weight), with W frozen. Backward gives dx through W and through the
 * adapter (dropout mask included), dA and dB; the model computes no dW while adapters are attached (the saving over
 * training W itself). A [in, r] and B [r, width] and their gradients are live views the owner (train.LoraAdapters)
 * keeps; the LM head, stored [out, in], is adapted the same way on its logits. The dropout mask comes with the
 * model's {@link DropoutMasks}, so it is drawn from the model's seeded stream.
 */
public final class LowRankAdapter {
  private final String name;
  private final String weight;
  private final boolean transposed;
  private final long from;
  private final INDArray a;
  private final INDArray b;
  private final INDArray gradA;
  private final INDArray gradB;
  private final double scale;
  private final double dropout;
  private INDArray mask;         // [N, in] of the current training forward, or null (eval, dropout 0)
  private INDArray input;        // [N, in]  drop(x) of the last forward
  private INDArray projected;    // [N, r]   drop(x)·A
  private INDArray dProjected;   // [N, r]   ∂L/∂(drop(x)·A), null until an output gradient arrives

  /**
   * @param name unique name (checkpoint keys are name + ".lora_A" / ".lora_B")
   * @param weight the adapted parameter ({@link ParamNames})
   * @param transposed whether that weight is stored [out, in] (the LM head) rather than [in, out]
   * @param from the first adapted output (column of the layer's output)
   * @param a [in, r], live
   * @param b [r, width], live
   * @param gradA where ∂L/∂A accumulates ([in, r])
   * @param gradB where ∂L/∂B accumulates ([r, width])
   * @param scale s = alpha / r
   * @param dropout probability of zeroing an input of the adapter path in training (0 ≤ p < 1)
   */
  public LowRankAdapter(String name, String weight, boolean transposed, long from, INDArray a, INDArray b,
      INDArray gradA, INDArray gradB, double scale, double dropout) {
    if (!(dropout >= 0 && dropout < 1)) {
      throw new IllegalArgumentException("adapter " + name + ": dropout " + dropout + " is outside [0, 1)");
    }
    this.name = name;
    this.weight = weight;
    this.transposed = transposed;
    this.from = from;
    this.a = a;
    this.b = b;
    this.gradA = gradA;
    this.gradB = gradB;
    this.scale = scale;
    this.dropout = dropout;
  }

  public String name() {
    return name;
  }

  /** The adapted parameter's name. */
  public String weight() {
    return weight;
  }

  public double dropout() {
    return dropout;
  }

  /** Inputs of the adapted layer (rows of A). */
  public long inputSize() {
    return a.size(0);
  }

  /** Whether the adapted weight [in, out] (or [out, in] for the head) fits this adapter. */
  boolean fits(long[] shape) {
    if (shape.length != 2) {
      return false;
    }
    long in = transposed ? shape[1] : shape[0];
    long out = transposed ? shape[0] : shape[1];
    return in == a.size(0) && from + b.size(1) <= out;
  }

  /** Merging: adds s · A·B to the adapted columns of {@code w} [in, out] (rows of the head's [out, in]). */
  public void addDeltaTo(INDArray w) {
    INDArray delta = MatMul.product(a, b, false, false).muli(scale);                          // [in, width]
    long to = from + b.size(1);
    if (transposed) {
      w.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).addi(delta.transpose());
    } else {
      w.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to)).addi(delta);
    }
  }

  /** The dropout mask of the next forwards (null = none: eval mode or dropout 0). */
  void useMask(INDArray mask) {
    this.mask = mask;
  }

  void zeroGradients() {
    gradA.assign(0);
    gradB.assign(0);
  }

  /** Forward, first half: keeps drop(x) and computes drop(x)·A for x [N, in]. */
  void project(INDArray x, BufferPool pool) {
    if (mask != null && mask.size(0) != x.size(0)) {
      throw new IllegalStateException("adapter " + name + ": dropout mask for " + mask.size(0) + " rows, input has "
          + x.size(0));
    }
    DataType type = x.dataType();
    input = mask == null ? x : x.mul(mask, pool.get(key("input"), type, x.shape()));
    projected = pool.get(key("projected"), type, x.size(0), a.size(1));
    Nd4j.gemm(input, a, projected, false, false, 1.0, 0.0);
    dProjected = null;
  }

  /**
   * Forward, second half: y [rows, out] += s · (drop(x)·A)[rows] · B on the adapted columns; {@code rows} null = all
   * rows of the last {@link #project}, else those rows (ascending) of it.
   */
  void addOutput(INDArray y, int[] rows, BufferPool pool) {
    INDArray p = rowsOf(projected, rows, "scratch.lora.rows", pool);
    if (wholeWidth(y)) {
      Nd4j.gemm(p, b, y, false, false, scale, 1.0);
    } else {
      INDArray term = pool.get("scratch.lora.term", y.dataType(), p.size(0), b.size(1));
      Nd4j.gemm(p, b, term, false, false, scale, 0.0);
      columns(y).addi(term);
    }
  }

  /**
   * Backward from the layer's output gradient dy [rows, out] (its adapted columns), each row scaled by
   * {@code rowScale} [rows] when not null (the LM head folds its softmax normalization in there):
   * dB += s · (rowScale ⊙ P)ᵀ · dy and ∂L/∂P[rows] += s · rowScale ⊙ (dy · Bᵀ), P = drop(x)·A.
   */
  void outputGradient(INDArray dy, int[] rows, INDArray rowScale, BufferPool pool) {
    DataType type = dy.dataType();
    long r = a.size(1);
    INDArray d = wholeWidth(dy) ? dy : pool.get("scratch.lora.d_out", type, dy.size(0), b.size(1)).assign(columns(dy));
    INDArray p = rowsOf(projected, rows, "scratch.lora.rows", pool);
    if (rowScale != null) {
      p = pool.get("scratch.lora.scaled", type, p.size(0), r).assign(p).muliColumnVector(rowScale);
    }
    Nd4j.gemm(p, d, gradB, true, false, scale, 1.0);
    if (dProjected == null) {
      dProjected = pool.get(key("d_projected"), type, projected.size(0), r).assign(0);
    }
    if (rows == null && rowScale == null) {
      Nd4j.gemm(d, b, dProjected, false, true, scale, 1.0);
      return;
    }
    INDArray part = pool.get("scratch.lora.d_rows", type, d.size(0), r);
    Nd4j.gemm(d, b, part, false, true, scale, 0.0);
    if (rowScale != null) {
      part.muliColumnVector(rowScale);
    }
    addRows(dProjected, part, rows);
  }

  /** Backward, last: dA += drop(x)ᵀ · ∂L/∂P and dx [N, in] += (∂L/∂P · Aᵀ) ⊙ mask. */
  void inputGradient(INDArray dx, BufferPool pool) {
    if (dProjected == null) {
      return; // no output gradient since the forward (a head chunk without targets)
    }
    Nd4j.gemm(input, dProjected, gradA, true, false, 1.0, 1.0);
    if (mask == null) {
      Nd4j.gemm(dProjected, a, dx, false, true, 1.0, 1.0);
    } else {
      INDArray term = pool.get("scratch.lora.dx", dx.dataType(), dx.size(0), dx.size(1));
      Nd4j.gemm(dProjected, a, term, false, true, 1.0, 0.0);
      dx.addi(term.muli(mask));
    }
  }

  private boolean wholeWidth(INDArray y) {
    return from == 0 && b.size(1) == y.size(1);
  }

  private INDArray columns(INDArray y) {
    return y.get(NDArrayIndex.all(), NDArrayIndex.interval(from, from + b.size(1)));
  }

  private String key(String what) {
    return "lora." + name + "." + what;
  }

  /** Rows {@code rows} (ascending; null = all) of {@code m}: a view when consecutive, else gathered into a buffer. */
  private static INDArray rowsOf(INDArray m, int[] rows, String buffer, BufferPool pool) {
    if (rows == null) {
      return m;
    }
    int n = rows.length;
    if (rows[n - 1] - rows[0] == n - 1) {
      return m.get(NDArrayIndex.interval(rows[0], rows[0] + n), NDArrayIndex.all());
    }
    return Nd4j.pullRows(m, pool.get(buffer, m.dataType(), n, m.size(1)), 1, rows);
  }

  /** target[rows] += values (one row per entry of {@code rows}; null = all rows). */
  private static void addRows(INDArray target, INDArray values, int[] rows) {
    if (rows == null) {
      target.addi(values);
      return;
    }
    RowBuffer to = new RowBuffer(target);
    RowBuffer add = new RowBuffer(values);
    double[] row = new double[(int) target.size(1)];
    double[] plus = new double[row.length];
    for (int j = 0; j < rows.length; j++) {
      to.read(rows[j], row);
      add.read(j, plus);
      for (int k = 0; k < row.length; k++) {
        row[k] += plus[k];
      }
      to.write(rows[j], row);
    }
  }
}
