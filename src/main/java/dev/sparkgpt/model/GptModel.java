package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A GPT-2 model (the book's GPTModel) with an explicit forward and backward pass on ND4J arrays: embeddings,
 * n_layers pre-LayerNorm blocks, final LayerNorm and the LM head fused with the cross-entropy. The same class runs the
 * Llama architecture (RMSNorm or DyT, SwiGLU, RoPE, grouped-query attention) when the {@link ModelConfig} says so.
 * Gradients accumulate into {@link #gradients()} until {@link #zeroGradients()}. Dropout draws from a seeded
 * {@link RandomStream} whose state a checkpoint saves. {@code dev.sparkgpt.model.graph.GptGraph} is the same
 * function as a SameDiff graph for GPT-2; GptGraphTest checks that both agree. Low-rank adapters ({@link #adapt})
 * are computed beside the weights they adapt, which are then frozen. Not thread-safe: one model per thread.
 */
public final class GptModel {
  /** Phases of {@link #phaseSeconds(boolean)}. */
  private static final String[] PHASES = {"forward", "head+loss", "backward"};

  private final ModelConfig config;
  private final GptParameters parameters;
  private final RandomStream random;
  private final BufferPool pool = new BufferPool();
  private final Adapters adapters = new Adapters(pool);
  private final Embeddings embeddings;
  private final TransformerBlock[] blocks;
  private final TokenLayer finalNorm;
  private final LanguageModelHead head = new LanguageModelHead(LanguageModelHead.CHUNK_LOGITS, pool, adapters);
  private final long[] phaseNanos = new long[PHASES.length];
  private GptParameters gradients;

  /** A model over {@code parameters} (used live, not copied); dropout seeded with {@code dropoutSeed}. */
  public GptModel(GptParameters parameters, long dropoutSeed) {
    this.config = parameters.config();
    this.parameters = parameters;
    this.random = new RandomStream(dropoutSeed);
    this.embeddings = new Embeddings(!config.usesRope(), pool);
    this.finalNorm = TokenLayer.finalNorm(config, pool);
    this.blocks = new TransformerBlock[config.numLayers()];
    RotaryEmbedding rope = RotaryEmbedding.of(config);
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = new TransformerBlock(config, i, rope, pool, adapters);
    }
  }

  /** A freshly initialized model ({@link GptParameters#initialize}); {@code seed} seeds weights and dropout. */
  public static GptModel initialize(ModelConfig config, DataType dataType, long seed) {
    return new GptModel(GptParameters.initialize(config, dataType, seed), ~seed);
  }

  public ModelConfig config() {
    return config;
  }

  public GptParameters parameters() {
    return parameters;
  }

  /** Gradient accumulators, same layout and type as the parameters (created at zero on first use). */
  public GptParameters gradients() {
    if (gradients == null) {
      gradients = parameters.zerosLike();
    }
    return gradients;
  }

  /** Zeroes the gradient accumulators: the adapters' own while adapters are attached, else {@link #gradients()}. */
  public void zeroGradients() {
    if (adapters.isEmpty()) {
      gradients().vector().assign(0);
    } else {
      adapters.zeroGradients();
    }
  }

  /**
   * Attaches low-rank adapters (an empty list detaches them): every forward adds their terms to the weights they
   * adapt, and training freezes the whole base: {@link #accumulateGradients} computes the adapters' gradients (into
   * their own arrays) and no weight gradient at all. Generation ({@link #nextLogits}, {@link #decoder}) needs the
   * adapters merged into the weights and detached.
   */
  public void adapt(List<LowRankAdapter> attached) {
    for (LowRankAdapter a : attached) {
      if (!parameters.names().contains(a.weight()) || !a.fits(parameters.get(a.weight()).shape())) {
        throw new IllegalArgumentException("adapter " + a.name() + " does not fit weight " + a.weight() + " of "
            + config + (parameters.names().contains(a.weight())
            ? " (shape " + Arrays.toString(parameters.get(a.weight()).shape()) + ")" : " (no such weight)"));
      }
    }
    adapters.set(attached);
  }

  /** The attached adapters (empty: none). */
  public List<LowRankAdapter> adapters() {
    return adapters.all();
  }

  /** The dropout stream; save {@code random().state()} in a checkpoint and restore it with setState. */
  public RandomStream random() {
    return random;
  }

  /**
   * Training step on one micro-batch (dropout on): adds ∂(Σ weight · CE / normalizer)/∂θ into {@link #gradients()}
   * (with adapters attached: into the adapters' gradients only) and returns Σ weight · CE / normalizer. With
   * normalizer = batch.weightSum() that is the batch's mean loss; accumulating micro-batches with the weight sum of
   * all of them gives the gradient of their joint mean.
   */
  public double accumulateGradients(TokenBatch batch, double normalizer) {
    return accumulateGradients(batch, normalizer, DropoutMasks.draw(config, random, parameters.dataType(),
        batch.batchSize(), batch.length(), pool, adapters.all()));
  }

  /** As {@link #accumulateGradients(TokenBatch, double)} with given masks (null = no dropout). */
  public double accumulateGradients(TokenBatch batch, double normalizer, DropoutMasks masks) {
    checkTokens(batch);
    GptParameters g = adapters.isEmpty() ? gradients() : null;                   // null: the base is frozen
    long t0 = System.nanoTime();
    INDArray hidden = hiddenStates(batch.inputs(), masks);
    INDArray dHidden = pool.get("model.d_hidden", hidden.dataType(), hidden.shape());
    String headName = ParamNames.headWeight(config);
    long t1 = System.nanoTime();
    double loss = head.lossAndGradient(hidden, parameters.get(headName), batch.flatTargets(), batch.flatWeights(),
        normalizer, dHidden, g == null ? null : g.get(headName));
    long t2 = System.nanoTime();
    INDArray d = finalNorm.backward(parameters, g, dHidden);
    for (int i = blocks.length - 1; i >= 0; i--) {
      d = blocks[i].backward(parameters, g, d);
    }
    if (g != null) {
      embeddings.backward(g, d);
    }
    long t3 = System.nanoTime();
    phaseNanos[0] += t1 - t0;
    phaseNanos[1] += t2 - t1;
    phaseNanos[2] += t3 - t2;
    return loss / normalizer;
  }

  /**
   * Seconds spent in {@link #accumulateGradients} since the last reset, by phase: "forward" (embeddings, blocks,
   * final norm), "head+loss" (LM head and cross-entropy, forward and backward), "backward" (norm, blocks,
   * embeddings). For benchmarks; resets when {@code reset}.
   */
  public Map<String, Double> phaseSeconds(boolean reset) {
    Map<String, Double> seconds = new LinkedHashMap<>();
    for (int i = 0; i < PHASES.length; i++) {
      seconds.put(PHASES[i], phaseNanos[i] / 1e9);
      if (reset) {
        phaseNanos[i] = 0;
      }
    }
    return seconds;
  }

  /** Σ weight · CE / normalizer with the given masks, forward only (the gradient checks' loss). */
  double trainingLoss(TokenBatch batch, double normalizer, DropoutMasks masks) {
    checkTokens(batch);
    INDArray hidden = hiddenStates(batch.inputs(), masks);
    return head.lossAndGradient(hidden, parameters.get(ParamNames.headWeight(config)), batch.flatTargets(),
        batch.flatWeights(), 1.0, null, null) / normalizer;
  }

  /** Mean cross-entropy of the batch in eval mode (no dropout, no gradients); NaN when no target counts. */
  public double loss(TokenBatch batch) {
    checkTokens(batch);
    INDArray hidden = hiddenStates(batch.inputs(), null);
    double sum = head.lossAndGradient(hidden, parameters.get(ParamNames.headWeight(config)), batch.flatTargets(),
        batch.flatWeights(), 1.0, null, null);
    return sum / batch.weightSum();
  }

  /** An incremental decoder with a key/value cache over these parameters (used live: train, then decode). */
  public KvDecoder decoder() {
    requireNoAdapters();
    return new KvDecoder(parameters);
  }

  /** Eval-mode logits [B, T, V]. */
  public INDArray logits(int[][] inputs) {
    return logits(inputs, false);
  }

  /** Logits [B, T, V] (V = num_classes for a classifier); in training mode dropout is on (and draws from the stream). */
  public INDArray logits(int[][] inputs, boolean training) {
    int[][] noTargets = new int[inputs.length][inputs[0].length];
    checkTokens(new TokenBatch(inputs, noTargets));
    DropoutMasks masks = training ? DropoutMasks.draw(config, random, parameters.dataType(), inputs.length,
        inputs[0].length, pool, adapters.all()) : null;
    INDArray hidden = hiddenStates(inputs, masks);
    return head.logits(hidden, parameters.get(ParamNames.headWeight(config)))
        .reshape(inputs.length, inputs[0].length, config.outputSize());
  }

  /**
   * Eval-mode scores of given next tokens without the full logits: {@code targets} [B][T] holds the id scored after
   * {@code inputs[b][0..t]}, or {@link TokenBatch#IGNORE_INDEX} where nothing is scored. The LM head runs on the
   * scored positions only (one gemm per chunk of them, as the training loss does); their log-softmax is taken in
   * double. Equals log-softmax of {@link #logits(int[][])} at those positions up to the head's rounding.
   */
  public TargetScores targetLogProbs(int[][] inputs, int[][] targets) {
    TokenBatch batch = new TokenBatch(inputs, targets);
    checkTokens(batch);
    int time = batch.length();
    double[] logProbs = new double[batch.batchSize() * time];
    boolean[] greedy = new boolean[logProbs.length];
    Arrays.fill(logProbs, Double.NaN);
    head.targetLogProbs(hiddenStates(inputs, null), parameters.get(ParamNames.headWeight(config)),
        batch.flatTargets(), logProbs, greedy);
    double[][] rowsLogProbs = new double[batch.batchSize()][];
    boolean[][] rowsGreedy = new boolean[batch.batchSize()][];
    for (int b = 0; b < rowsLogProbs.length; b++) {
      rowsLogProbs[b] = Arrays.copyOfRange(logProbs, b * time, (b + 1) * time);
      rowsGreedy[b] = Arrays.copyOfRange(greedy, b * time, (b + 1) * time);
    }
    return new TargetScores(rowsLogProbs, rowsGreedy);
  }

  /** Eval-mode logits [V] of the position after {@code context} only (the head runs on the last row alone). */
  public float[] nextLogits(int[] context) {
    requireNoAdapters();
    int[][] inputs = {context};
    checkTokens(new TokenBatch(inputs, new int[1][context.length]));
    INDArray hidden = hiddenStates(inputs, null);
    INDArray last = hidden.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(context.length - 1, context.length),
        org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
    return head.nextLogits(last, parameters.get(ParamNames.headWeight(config))).castTo(DataType.FLOAT).toFloatVector();
  }

  /** Embeddings, blocks and final norm: [B][T] ids -> [B·T, C]. */
  private INDArray hiddenStates(int[][] inputs, DropoutMasks masks) {
    int batch = inputs.length;
    int time = inputs[0].length;
    adapters.useMasks(masks);
    INDArray x = embeddings.forward(parameters, inputs, masks == null ? null : masks.embedding());
    for (int i = 0; i < blocks.length; i++) {
      x = blocks[i].forward(parameters, x, batch, time, masks, i);
    }
    return finalNorm.forward(parameters, x);
  }

  /** Generation reads the weights alone: adapters must be merged in and detached first (GptStepModel.merged()). */
  private void requireNoAdapters() {
    if (!adapters.isEmpty()) {
      throw new IllegalStateException(adapters.all().size() + " low-rank adapters are attached: merge them into the "
          + "weights and detach them before generating (GptStepModel.merged() does)");
    }
  }

  private void checkTokens(TokenBatch batch) {
    if (batch.length() > config.contextLength()) {
      throw new IllegalArgumentException("sequence of " + batch.length() + " tokens is longer than context_length "
          + config.contextLength());
    }
    int vocab = config.vocabSize();
    int outputs = config.outputSize();
    for (int b = 0; b < batch.batchSize(); b++) {
      for (int t = 0; t < batch.length(); t++) {
        int id = batch.inputs()[b][t];
        int y = batch.targets()[b][t];
        if (id < 0 || id >= vocab) {
          throw new IllegalArgumentException("input id " + id + " at [" + b + "][" + t + "] is outside [0, " + vocab
              + ")");
        }
        if (y != TokenBatch.IGNORE_INDEX && (y < 0 || y >= outputs)) {
          throw new IllegalArgumentException("target id " + y + " at [" + b + "][" + t + "] is outside [0, " + outputs
              + ") and is not the ignore index " + TokenBatch.IGNORE_INDEX);
        }
      }
    }
  }
}
