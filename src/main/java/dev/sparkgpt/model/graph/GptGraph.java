package dev.sparkgpt.model.graph;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.model.DropoutMasks;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The GPT as one SameDiff graph for a fixed [batch, time] shape: the reference definition the explicit
 * {@link dev.sparkgpt.model.GptModel} is checked against (GptGraphTest). Training uses GptModel because of
 * measurements on this machine: SameDiff's matmul ran at 15–20 GFLOP/s against 160 for gemm into a preallocated
 * output, each op cost 0.3–0.6 ms of overhead, and a training step of TrainStepBench's config (a) took 29 s here
 * against 1 s for GptModel. Variables carry {@link ParamNames}; the token embedding is a one-hot matmul because
 * ND4J's gather gradient is wrong (SameDiffOpChecksTest.gatherGradientIsWrong).
 */
public final class GptGraph {
  /** [B, T] int32 token ids. */
  public static final String INPUT_IDS = "input_ids";
  /** [B, T] int32 next-token ids, {@link TokenBatch#IGNORE_INDEX} = no loss. */
  public static final String TARGETS = "targets";
  /** [B, T] per-token loss weights (all 1 when a batch has none). */
  public static final String LOSS_WEIGHTS = "loss_weights";
  /** [T, T] 0 on and below the diagonal, -1e9 above. */
  public static final String CAUSAL_MASK = "causal_mask";
  /** [B·T, V] output logits and the scalar mean loss. */
  public static final String LOGITS = "logits";
  public static final String LOSS = "loss";
  private static final Object STDOUT_LOCK = new Object();

  private final SameDiff sd;
  private final ModelConfig config;
  private final DataType dataType;
  private final int batch;
  private final int time;
  private final boolean training;

  private GptGraph(SameDiff sd, ModelConfig config, DataType dataType, int batch, int time, boolean training) {
    this.sd = sd;
    this.config = config;
    this.dataType = dataType;
    this.batch = batch;
    this.time = time;
    this.training = training;
  }

  /** Placeholder name of a dropout mask: "dropout.embedding" or "dropout.&lt;kind&gt;.&lt;layer&gt;". */
  public static String dropoutName(String kind, int layer) {
    return layer < 0 ? "dropout." + kind : "dropout." + kind + "." + layer;
  }

  /** Builds the graph over copies of {@code parameters}; {@code training} adds the dropout-mask placeholders. */
  public static GptGraph build(GptParameters parameters, int batch, int time, boolean training) {
    ModelConfig config = parameters.config();
    if (!config.hasGpt2Architecture()) {
      throw new IllegalArgumentException("the SameDiff reference graph is GPT-2 only (layernorm, gelu, learned "
          + "positions, no grouped-query attention, biases); " + config + " is not");
    }
    DataType type = parameters.dataType();
    int rows = batch * time;
    SameDiff sd = SameDiff.create();
    parameters.views().forEach((name, value) -> sd.var(name, value.dup()));
    boolean dropout = training && config.dropRate() > 0;
    SDVariable ids = sd.placeHolder(INPUT_IDS, DataType.INT32, batch, time);
    SDVariable targets = sd.placeHolder(TARGETS, DataType.INT32, batch, time);
    SDVariable weights = sd.placeHolder(LOSS_WEIGHTS, type, batch, time);
    SDVariable causal = sd.placeHolder(CAUSAL_MASK, type, time, time);

    SDVariable tokens = sd.oneHot(ids, config.vocabSize(), -1, 1.0, 0.0, type)
        .reshape(rows, config.vocabSize()).mmul(sd.getVariable(ParamNames.TOKEN_EMBEDDING));   // [N, V]·[V, C]
    SDVariable positions = sd.slice(sd.getVariable(ParamNames.POSITION_EMBEDDING), new int[] {0, 0}, time,
        config.embeddingDim());                                                                 // [T, C]
    SDVariable x = tokens.reshape(batch, time, config.embeddingDim()).add(positions)
        .reshape(rows, config.embeddingDim());                                                  // [N, C]
    x = dropout ? x.mul(mask(sd, dropoutName("embedding", -1), type, rows, config.embeddingDim())) : x;
    for (int i = 0; i < config.numLayers(); i++) {
      SDVariable normed = GraphLayers.layerNorm(sd, x, ParamNames.block(i, ParamNames.NORM1_SCALE),
          ParamNames.block(i, ParamNames.NORM1_SHIFT));
      SDVariable attended = GraphLayers.attention(sd, config, i, normed, causal,
          dropout ? mask(sd, dropoutName("attention", i), type, (long) rows * config.numHeads(), time) : null,
          batch, time);
      x = x.add(dropout ? attended.mul(mask(sd, dropoutName("attention_output", i), type, rows,
          config.embeddingDim())) : attended);
      SDVariable fed = GraphLayers.feedForward(sd, i, GraphLayers.layerNorm(sd, x,
          ParamNames.block(i, ParamNames.NORM2_SCALE), ParamNames.block(i, ParamNames.NORM2_SHIFT)));
      x = x.add(dropout ? fed.mul(mask(sd, dropoutName("feed_forward_output", i), type, rows,
          config.embeddingDim())) : fed);
    }
    SDVariable hidden = GraphLayers.layerNorm(sd, x, ParamNames.FINAL_NORM_SCALE, ParamNames.FINAL_NORM_SHIFT);
    SDVariable logits = sd.mmul(LOGITS, hidden, sd.getVariable(ParamNames.headWeight(config)), false, true, false);
    SDVariable flatTargets = targets.reshape(rows);
    SDVariable valid = sd.gte(flatTargets, 0).castTo(type).reshape(rows, 1);
    SDVariable oneHot = sd.oneHot(flatTargets, config.vocabSize(), -1, 1.0, 0.0, type);      // [N, V]
    GraphLayers.crossEntropy(sd, logits, oneHot, weights.reshape(rows, 1).mul(valid)).rename(LOSS);
    sd.setLossVariables(LOSS);
    createGradientsQuietly(sd);
    return new GptGraph(sd, config, type, batch, time, training);
  }

  private static SDVariable mask(SameDiff sd, String name, DataType type, long rows, long columns) {
    return sd.placeHolder(name, type, rows, columns);
  }

  /** SameDiff M2.1 prints "Added differentiated op …" to stdout for every op; keep it off the console. */
  static void createGradientsQuietly(SameDiff sd) {
    synchronized (STDOUT_LOCK) {
      PrintStream console = System.out;
      System.setOut(new PrintStream(OutputStream.nullOutputStream()));
      try {
        sd.createGradFunction();
      } finally {
        System.setOut(console);
      }
    }
  }

  public SameDiff sameDiff() {
    return sd;
  }

  /** Logits [B, T, V]; {@code masks} must be given in a training graph with dropout, else null. */
  public INDArray logits(int[][] inputs, DropoutMasks masks) {
    TokenBatch batchOfInputs = new TokenBatch(inputs, new int[inputs.length][inputs[0].length]);
    return sd.output(feed(batchOfInputs, masks), LOGITS).get(LOGITS).reshape(batch, time, config.vocabSize());
  }

  /** The mean loss Σ weight · CE / Σ weight over non-ignored targets. */
  public double loss(TokenBatch tokens, DropoutMasks masks) {
    return sd.output(feed(tokens, masks), LOSS).get(LOSS).getDouble(0);
  }

  /** Gradients of the mean loss by parameter name. */
  public Map<String, INDArray> gradients(TokenBatch tokens, DropoutMasks masks) {
    List<String> names = new ArrayList<>(ParamNames.shapes(config).keySet());
    return sd.calculateGradients(feed(tokens, masks), names);
  }

  private Map<String, INDArray> feed(TokenBatch tokens, DropoutMasks masks) {
    if (tokens.batchSize() != batch || tokens.length() != time) {
      throw new IllegalArgumentException("graph built for [" + batch + ", " + time + "], batch is ["
          + tokens.batchSize() + ", " + tokens.length() + "]");
    }
    Map<String, INDArray> feed = new HashMap<>();
    feed.put(INPUT_IDS, Nd4j.createFromArray(tokens.inputs()));
    feed.put(TARGETS, Nd4j.createFromArray(tokens.targets()));
    feed.put(LOSS_WEIGHTS, tokens.weights() == null ? Nd4j.ones(dataType, batch, time)
        : Nd4j.createFromArray(tokens.weights()).castTo(dataType));
    double[] causal = new double[time * time];
    for (int row = 0; row < time; row++) {
      java.util.Arrays.fill(causal, row * time + row + 1, (row + 1) * time, -1e9);
    }
    feed.put(CAUSAL_MASK, Nd4j.createFromArray(causal).reshape(time, time).castTo(dataType));
    if (training && config.dropRate() > 0) {
      if (masks == null) {
        throw new IllegalArgumentException("a training graph with dropout needs its masks");
      }
      feed.put(dropoutName("embedding", -1), masks.embedding());
      for (int i = 0; i < config.numLayers(); i++) {
        feed.put(dropoutName("attention", i), masks.attention()[i]);
        feed.put(dropoutName("attention_output", i), masks.attentionOutput()[i]);
        feed.put(dropoutName("feed_forward_output", i), masks.feedForwardOutput()[i]);
      }
    }
    return feed;
  }
}
