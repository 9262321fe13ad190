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
 * Incremental decoding of one sequence with a key/value cache (eval mode, no dropout): {@link #append} runs only the
 * new tokens through the blocks, attending to the keys and values cached for every earlier position, and returns the
 * logits of the last one. A prompt goes in one call (prefill), then one token per call, so a step costs the same at
 * token 200 as at token 20 apart from the attention over the cache. The same function as {@link GptModel#logits}
 * (KvDecoderTest checks both agree position by position). Holds up to context_length positions: past that, {@link
 * #reset} and append the last window again (a learned position embedding cannot slide). With RoPE the new queries
 * and keys are rotated at their absolute positions (cache offset + i) and the cache holds rotated keys; with
 * grouped-query attention it holds n_kv_groups heads, query head h reading head h / (n_heads / n_kv_groups).
 */
public final class KvDecoder {
  private static final MMulTranspose TRANSPOSE_B = MMulTranspose.builder().transposeB(true).build();
  private final ModelConfig config;
  private final GptParameters p;
  private final BufferPool pool = new BufferPool();
  private final TokenLayer[] norm1;
  private final TokenLayer[] norm2;
  private final TokenLayer[] feedForward;
  private final TokenLayer finalNorm;
  private final RotaryEmbedding rope; // null with learned positions
  private final INDArray[] keys;    // per layer [K, context, D]
  private final INDArray[] values;  // per layer [K, context, D]
  private final boolean hostStep;   // one token at a time through BLAS gemv and Java loops (see appendOne)
  private int length;

  KvDecoder(GptParameters parameters) {
    this(parameters, true);
  }

  /** {@code hostStep} false: every step through ND4J ops (the path other backends and float64 take; for tests). */
  KvDecoder(GptParameters parameters, boolean hostStep) {
    this.p = parameters;
    this.config = parameters.config();
    int layers = config.numLayers();
    norm1 = new TokenLayer[layers];
    norm2 = new TokenLayer[layers];
    feedForward = new TokenLayer[layers];
    keys = new INDArray[layers];
    values = new INDArray[layers];
    DataType type = parameters.dataType();
    for (int i = 0; i < layers; i++) {
      norm1[i] = TokenLayer.blockNorm(config, i, true, pool);
      norm2[i] = TokenLayer.blockNorm(config, i, false, pool);
      feedForward[i] = TokenLayer.feedForward(config, i, pool);
      keys[i] = Nd4j.zeros(type, config.numKvGroups(), config.contextLength(), config.headDim());
      values[i] = Nd4j.zeros(type, config.numKvGroups(), config.contextLength(), config.headDim());
    }
    finalNorm = TokenLayer.finalNorm(config, pool);
    rope = RotaryEmbedding.of(config);
    this.hostStep = hostStep && DirectBlas.AVAILABLE && type == DataType.FLOAT
        && parameters.names().stream().allMatch(name -> DirectBlas.takes(parameters.get(name)));
  }

  /** Positions cached so far. */
  public int length() {
    return length;
  }

  /** Forgets the cache (a new sequence). */
  public void reset() {
    length = 0;
  }

  /** Feeds {@code ids} after the cached positions; returns the logits [V] of the last of them. */
  public float[] append(int[] ids) {
    int n = ids.length;
    if (n == 0) {
      throw new IllegalArgumentException("nothing to append");
    }
    if (length + n > config.contextLength()) {
      throw new IllegalArgumentException(length + " cached + " + n + " new tokens exceed context_length "
          + config.contextLength() + ": reset() and append the last window");
    }
    for (int id : ids) {
      if (id < 0 || id >= config.vocabSize()) {
        throw new IllegalArgumentException("token id " + id + " is outside [0, " + config.vocabSize() + ")");
      }
    }
    if (n == 1 && hostStep) {
      return appendOne(ids[0]);
    }
    DataType type = p.dataType();
    int c = config.embeddingDim();
    int heads = config.numHeads();
    int kvHeads = config.numKvGroups();
    int group = heads / kvHeads;
    int d = config.headDim();
    int total = length + n;
    INDArray x = pool.get("kv.x", type, n, c);                                                 // [n, C]
    Nd4j.pullRows(p.get(ParamNames.TOKEN_EMBEDDING), x, 1, ids);
    if (rope == null) {
      x.addi(p.get(ParamNames.POSITION_EMBEDDING).get(NDArrayIndex.interval(length, total), NDArrayIndex.all()));
    }
    for (int layer = 0; layer < config.numLayers(); layer++) {
      INDArray a = norm1[layer].forward(p, x);
      INDArray qkv = pool.get("kv.qkv", type, n, config.qkvWidth());
      MatMul.into(a, p.get(ParamNames.block(layer, ParamNames.QKV_WEIGHT)), qkv, false);
      if (config.qkvBias()) {
        qkv.addiRowVector(p.get(ParamNames.block(layer, ParamNames.QKV_BIAS)));
      }
      // [H+2K, n, D]: one token's row already is that layout (no copy); several rows are permuted
      INDArray split = n == 1 ? qkv.reshape(heads + 2 * kvHeads, 1, d)
          : qkv.reshape(n, heads + 2 * kvHeads, d).permute(1, 0, 2);
      INDArray q = n == 1 ? split.get(NDArrayIndex.interval(0, heads))                          // [H, n, D]
          : split.get(NDArrayIndex.interval(0, heads)).dup('c');
      INDArray k = split.get(NDArrayIndex.interval(heads, heads + kvHeads));                    // [K, n, D]
      if (rope != null) {
        q = q.dup('c');                                                    // rotated in place: off qkv, contiguous
        k = k.dup('c');
        rope.rotate(q, length, false);
        rope.rotate(k, length, false);
      }
      keys[layer].get(NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all()).assign(k);
      values[layer].get(NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all())
          .assign(split.get(NDArrayIndex.interval(heads + kvHeads, heads + 2 * kvHeads)));
      // all heads in one batched product each way, over [K, total, D] views of the cache (no copy per step); with
      // grouped-query attention the H/K query heads of a key/value head are consecutive: [H, n, D] = [K, group·n, D]
      INDArray cachedKeys = keys[layer].get(NDArrayIndex.all(), NDArrayIndex.interval(0, total), NDArrayIndex.all());
      INDArray cachedValues = values[layer].get(NDArrayIndex.all(), NDArrayIndex.interval(0, total),
          NDArrayIndex.all());
      INDArray scores = pool.get("kv.scores", type, heads, n, total);                          // [H, n, total]
      INDArray context = pool.get("kv.context", type, heads, n, d);                            // [H, n, D]
      Nd4j.exec(new Mmul(q.reshape(kvHeads, (long) group * n, d), cachedKeys,
          scores.reshape(kvHeads, (long) group * n, total), 1.0 / Math.sqrt(d), 0.0, TRANSPOSE_B));  // Q Kᵀ / √D
      if (n > 1) {                                                   // one new row sees every cached position
        scores.reshape(heads, (long) n * total).addiRowVector(causalMask(type, n, total).reshape(1, (long) n * total));
      }
      INDArray weights = scores.reshape((long) heads * n, total);
      Nd4j.exec(new SoftMax(weights, weights, 1));
      Nd4j.exec(new Mmul(scores.reshape(kvHeads, (long) group * n, total), cachedValues,
          context.reshape(kvHeads, (long) group * n, d), MMulTranspose.allFalse()));
      INDArray merged = n == 1 ? context.reshape(1, c)                                         // [n, C]
          : context.permute(1, 0, 2).dup('c').reshape(n, c);
      INDArray out = pool.get("kv.att_out", type, n, c);
      MatMul.into(merged, p.get(ParamNames.block(layer, ParamNames.ATTENTION_OUT_WEIGHT)), out, false);
      if (config.linearBias()) {
        out.addiRowVector(p.get(ParamNames.block(layer, ParamNames.ATTENTION_OUT_BIAS)));
      }
      x.addi(out);
      x.addi(feedForward[layer].forward(p, norm2[layer].forward(p, x)));
    }
    INDArray last = finalNorm.forward(p, x.get(NDArrayIndex.interval(n - 1, n), NDArrayIndex.all()).dup('c'));
    INDArray head = p.get(ParamNames.headWeight(config));                                      // [V, C]
    INDArray logits = pool.get("kv.logits", type, 1, head.size(0));
    MatMul.into(last, head, logits, true);
    length = total;
    return logits.castTo(DataType.FLOAT).toFloatVector();
  }

  /**
   * One token at position {@code length}, llm.c style: the activations are float arrays on the heap, every weight is
   * read by one BLAS gemv ({@link DirectBlas}) and everything else is a Java loop. The ND4J path spent 20–25 ms of an
   * 80 ms GPT-2 124M step on ~330 small ops (0.03–0.13 ms each) around 55 ms of gemv; this step is the same function
   * (KvDecoderTest compares both with the full forward pass).
   */
  private float[] appendOne(int id) {
    int c = config.embeddingDim();
    int heads = config.numHeads();
    int kvHeads = config.numKvGroups();
    int group = heads / kvHeads;
    int d = config.headDim();
    int context = config.contextLength();
    int total = length + 1;
    double scale = 1.0 / Math.sqrt(d);
    float[] x = DirectBuffers.read(p.get(ParamNames.TOKEN_EMBEDDING), (long) id * c, c);
    if (rope == null) {
      float[] position = DirectBuffers.read(p.get(ParamNames.POSITION_EMBEDDING), (long) length * c, c);
      for (int j = 0; j < c; j++) {
        x[j] += position[j];
      }
    }
    float[] a = new float[c];
    float[] scores = new float[total];
    float[] merged = new float[c];
    for (int layer = 0; layer < config.numLayers(); layer++) {
      norm1[layer].forwardRow(p, x, a);
      float[] qkv = HostRow.project(p, ParamNames.block(layer, ParamNames.QKV_WEIGHT),
          config.qkvBias() ? ParamNames.block(layer, ParamNames.QKV_BIAS) : null, a);          // [(H+2K)·D]
      if (rope != null) {
        rope.rotateRow(qkv, 0, heads + kvHeads, length);                                      // queries and keys
      }
      java.nio.FloatBuffer cachedKeys = DirectBuffers.floats(keys[layer]);
      java.nio.FloatBuffer cachedValues = DirectBuffers.floats(values[layer]);
      for (int g = 0; g < kvHeads; g++) {
        int at = (g * context + length) * d;
        cachedKeys.put(at, qkv, (heads + g) * d, d);
        cachedValues.put(at, qkv, (heads + kvHeads + g) * d, d);
      }
      for (int h = 0; h < heads; h++) {          // query head h reads key/value head h / group: [total, D] slabs
        long slab = (long) (h / group) * context * d;
        DirectBlas.gemv(keys[layer], slab, total, d, false, qkv, h * d, scores, 0);           // K q
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < total; t++) {
          max = Math.max(max, scores[t] * scale);
        }
        double sum = 0;
        for (int t = 0; t < total; t++) {
          double e = Math.exp(scores[t] * scale - max);
          scores[t] = (float) e;
          sum += e;
        }
        for (int t = 0; t < total; t++) {
          scores[t] = (float) (scores[t] / sum);
        }
        DirectBlas.gemv(values[layer], slab, total, d, true, scores, 0, merged, h * d);       // Vᵀ p
      }
      float[] out = HostRow.project(p, ParamNames.block(layer, ParamNames.ATTENTION_OUT_WEIGHT),
          config.linearBias() ? ParamNames.block(layer, ParamNames.ATTENTION_OUT_BIAS) : null, merged);
      for (int j = 0; j < c; j++) {
        x[j] += out[j];
      }
      norm2[layer].forwardRow(p, x, a);
      feedForward[layer].forwardRow(p, a, out);
      for (int j = 0; j < c; j++) {
        x[j] += out[j];
      }
    }
    finalNorm.forwardRow(p, x, a);
    INDArray head = p.get(ParamNames.headWeight(config));                                      // [V, C]
    float[] logits = new float[(int) head.size(0)];
    DirectBlas.gemv(head, 0, logits.length, c, false, a, 0, logits, 0);
    length = total;
    return logits;
  }

  /** [n, total]: new row i (position length + i) sees columns 0 … length + i. */
  private INDArray causalMask(DataType type, int n, int total) {
    double[] m = new double[n * total];
    for (int i = 0; i < n; i++) {
      Arrays.fill(m, i * total + (total - n) + i + 1, (i + 1) * total, CausalSelfAttention.MASKED);
    }
    return Nd4j.createFromArray(m).reshape(n, total).castTo(type);
  }
}
