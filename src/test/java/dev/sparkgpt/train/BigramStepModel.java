package dev.sparkgpt.train;

import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small real language model for testing the loop's mechanics without the GPT: next-token logits are a row of a
 * [V, V] table, trained by plain SGD on the mean cross-entropy. Deterministic; its "RNG" (a counter mixed into
 * nothing but the state) checks that the loop saves and restores it.
 */
class BigramStepModel implements StepModel {
  final int vocab;
  INDArray table;
  long rng;

  BigramStepModel(int vocab, long seed) {
    this.vocab = vocab;
    Random r = new Random(seed);
    double[] init = new double[vocab * vocab];
    for (int i = 0; i < init.length; i++) {
      init[i] = 0.02 * r.nextGaussian();
    }
    table = Nd4j.createFromArray(init).castTo(DataType.FLOAT).reshape(vocab, vocab);
    rng = seed;
  }

  @Override
  public StepResult step(int[][][] inputs, int[][][] targets, double lr, double maxNorm) {
    double[][] grad = new double[vocab][vocab];
    double loss = 0;
    long n = 0;
    float[][] t = table.toFloatMatrix();
    for (int a = 0; a < inputs.length; a++) {
      for (int b = 0; b < inputs[a].length; b++) {
        for (int i = 0; i < inputs[a][b].length; i++) {
          int y = targets[a][b][i];
          if (y < 0) {
            continue;
          }
          float[] row = t[inputs[a][b][i]];
          double max = Double.NEGATIVE_INFINITY;
          for (float v : row) {
            max = Math.max(max, v);
          }
          double sum = 0;
          for (float v : row) {
            sum += Math.exp(v - max);
          }
          loss += max + Math.log(sum) - row[y];
          for (int v = 0; v < vocab; v++) {
            grad[inputs[a][b][i]][v] += Math.exp(row[v] - max) / sum - (v == y ? 1 : 0);
          }
          n++;
        }
      }
    }
    double norm = 0;
    for (double[] g : grad) {
      for (double v : g) {
        norm += (v / n) * (v / n);
      }
    }
    norm = Math.sqrt(norm);
    double scale = maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
    for (int i = 0; i < vocab; i++) {
      for (int v = 0; v < vocab; v++) {
        t[i][v] -= (float) (lr * scale * grad[i][v] / n);
      }
    }
    table = Nd4j.createFromArray(t);
    rng = rng * 6364136223846793005L + 1442695040888963407L;
    return new StepResult(loss / n, norm);
  }

  @Override
  public double loss(int[][] inputs, int[][] targets) {
    double loss = 0;
    long n = 0;
    float[][] t = table.toFloatMatrix();
    for (int b = 0; b < inputs.length; b++) {
      for (int i = 0; i < inputs[b].length; i++) {
        if (targets[b][i] < 0) {
          continue;
        }
        float[] row = t[inputs[b][i]];
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
          max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
          sum += Math.exp(v - max);
        }
        loss += max + Math.log(sum) - row[targets[b][i]];
        n++;
      }
    }
    return loss / n;
  }

  @Override
  public int[] generate(int[] prompt, int maxNewTokens, int stopId, int idLimit,
      dev.sparkgpt.generate.Sampler sampler) { // greedy whatever the sampler: the bigram table's argmax
    int[] out = new int[maxNewTokens];
    int last = prompt[prompt.length - 1] % vocab;
    float[][] t = table.toFloatMatrix();
    for (int i = 0; i < maxNewTokens; i++) {
      int best = 0;
      for (int v = 1; v < Math.min(vocab, idLimit); v++) {
        if (t[last][v] > t[last][best]) {
          best = v;
        }
      }
      out[i] = best;
      last = best;
    }
    return out;
  }

  @Override
  public long parameterCount() {
    return (long) vocab * vocab;
  }

  @Override
  public double flopsPerToken() {
    return 6.0 * vocab;
  }

  @Override
  public Map<String, INDArray> weights() {
    return Map.of("table", table.dup());
  }

  @Override
  public Map<String, INDArray> optimizerState() {
    return Map.of();
  }

  @Override
  public INDArray weightVector() {
    return table.reshape(new long[] {table.length()});   // a view: writes reach the table
  }

  @Override
  public void restoreOptimizer(Map<String, INDArray> optimizerState) {
    // plain SGD: no state
  }

  @Override
  public void setRngState(long rngState) {
    rng = rngState;
  }

  @Override
  public long rngState() {
    return rng;
  }

  @Override
  public void restore(Map<String, INDArray> weights, Map<String, INDArray> optimizerState, long rngState) {
    table = weights.get("table").dup();
    rng = rngState;
  }
}
