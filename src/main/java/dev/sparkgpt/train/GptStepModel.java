package dev.sparkgpt.train;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.PretrainConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The GPT as the training loop sees it: gradient accumulation over micro-batches (one joint mean), global-norm
 * clipping, and AdamW (PyTorch's semantics: decoupled weight decay lr·λ·θ, bias-corrected moments) over the flat
 * parameter vector. Decay applies to the matrices of the blocks and a separate LM head, never to biases, norms or
 * embeddings (GPT-2 practice). Moments are flat vectors, checkpointed and averaged like the weights.
 */
public final class GptStepModel implements StepModel {
  static final String MOMENT1 = "adamw.m";
  static final String MOMENT2 = "adamw.v";
  static final String STEPS = "adamw.t";

  private final GptModel model;
  private final PretrainConfig.Optimizer optimizer;
  private final INDArray decayMask;
  private INDArray m;
  private INDArray v;
  private long t;

  public GptStepModel(GptModel model, PretrainConfig.Optimizer optimizer) {
    this.model = model;
    this.optimizer = optimizer;
    GptParameters p = model.parameters();
    this.m = Nd4j.zeros(p.dataType(), p.size());
    this.v = Nd4j.zeros(p.dataType(), p.size());
    this.decayMask = decayMask(p);
  }

  /** 1 where weight decay applies, 0 elsewhere, laid out like the flat parameter vector. */
  static INDArray decayMask(GptParameters p) {
    GptParameters mask = p.zerosLike();
    for (String name : p.names()) {
      INDArray view = mask.get(name);
      if (view.rank() >= 2 && !ParamNames.isEmbedding(name)) {
        view.assign(1);
      }
    }
    return mask.vector();
  }

  public GptModel model() {
    return model;
  }

  @Override
  public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
    model.zeroGradients();
    double weight = 0;
    TokenBatch[] batches = new TokenBatch[inputs.length];
    for (int a = 0; a < inputs.length; a++) {
      batches[a] = new TokenBatch(inputs[a], targets[a]);
      weight += batches[a].weightSum();
    }
    double loss = 0;
    for (TokenBatch batch : batches) {
      loss += model.accumulateGradients(batch, weight);
    }
    INDArray g = model.gradients().vector();
    double norm = g.norm2Number().doubleValue();
    if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
      return new StepResult(loss, norm); // the loop stops and keeps the last good checkpoint
    }
    if (maxNorm > 0 && norm > maxNorm) {
      g.muli(maxNorm / (norm + 1e-6));
    }
    applyAdamW(model.parameters().vector(), g, lr);
    return new StepResult(loss, norm);
  }

  private void applyAdamW(INDArray theta, INDArray g, double lr) {
    t++;
    double b1 = optimizer.beta1();
    double b2 = optimizer.beta2();
    if (optimizer.weightDecay() > 0) {
      theta.subi(theta.mul(decayMask).muli(lr * optimizer.weightDecay()));
    }
    m.muli(b1).addi(g.mul(1 - b1));
    v.muli(b2).addi(g.mul(g).muli(1 - b2));
    double correction1 = 1 - Math.pow(b1, t);
    double correction2 = 1 - Math.pow(b2, t);
    INDArray denominator = Transforms.sqrt(v.div(correction2), false).addi(optimizer.eps());
    theta.subi(m.div(denominator).muli(lr / correction1));
  }

  @Override
  public double loss(int[][] inputs, int[][] targets) {
    return model.loss(new TokenBatch(inputs, targets));
  }

  /** Next-token logits of the last position of a context (eval mode), for generation. */
  public Generator.NextTokenLogits scorer() {
    ModelConfig c = model.config();
    return new Generator.NextTokenLogits() {
      @Override
      public float[] next(int[] context) {
        INDArray logits = model.logits(new int[][] {context});
        return logits.get(NDArrayIndex.point(0), NDArrayIndex.point(context.length - 1), NDArrayIndex.all())
            .castTo(DataType.FLOAT).toFloatVector();
      }

      @Override
      public int contextLength() {
        return c.contextLength();
      }

      @Override
      public int vocabSize() {
        return c.vocabSize();
      }
    };
  }

  @Override
  public int[] generate(int[] prompt, int maxNewTokens, int stopId) {
    int[] out = new int[maxNewTokens];
    int n = 0;
    int[] context = prompt;
    Generator.NextTokenLogits scorer = scorer();
    for (int i = 0; i < maxNewTokens; i++) {
      int[] window = context.length > scorer.contextLength()
          ? Arrays.copyOfRange(context, context.length - scorer.contextLength(), context.length) : context;
      int id = Sampler.argmax(scorer.next(window), scorer.vocabSize());
      if (id == stopId) {
        break;
      }
      out[n++] = id;
      context = Arrays.copyOf(context, context.length + 1);
      context[context.length - 1] = id;
    }
    return Arrays.copyOf(out, n);
  }

  @Override
  public long parameterCount() {
    return model.config().parameterCount();
  }

  @Override
  public double flopsPerToken() {
    return model.config().trainingFlopsPerToken(model.config().contextLength());
  }

  @Override
  public Map<String, INDArray> weights() {
    return model.parameters().toMap(DataType.FLOAT);
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    Map<String, INDArray> state = new LinkedHashMap<>();
    state.put(MOMENT1, m.castTo(DataType.FLOAT).dup());
    state.put(MOMENT2, v.castTo(DataType.FLOAT).dup());
    state.put(STEPS, Nd4j.createFromArray((float) t));
    return state;
  }

  @Override
  public long rngState() {
    return model.random().state();
  }

  @Override
  public void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState) {
    GptParameters p = model.parameters();
    for (String name : p.names()) {
      INDArray w = weights.get(name);
      if (w == null) {
        throw new IllegalArgumentException("checkpoint lacks parameter " + name);
      }
      p.set(name, w);
    }
    if (optimizerState.containsKey(MOMENT1)) {
      m.assign(optimizerState.get(MOMENT1).reshape(m.length()));
      v.assign(optimizerState.get(MOMENT2).reshape(v.length()));
      t = Math.round(optimizerState.get(STEPS).getDouble(0));
    }
    model.random().setState(rngState);
  }
}
