package dev.sparkgpt.model;

import dev.sparkgpt.config.ModelConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Rotary position embedding (RoPE) in the Hugging Face {@code rotate_half} convention: within a head of width D,
 * dimension i and i + D/2 (i < D/2) turn together by the angle position · θ^(-2i/D):
 * y_i = x_i cos - x_{i+D/2} sin, y_{i+D/2} = x_{i+D/2} cos + x_i sin. The backward pass is the rotation by the
 * opposite angle (the transpose of a rotation). Angles are computed in double once per position, and one instance
 * serves every layer of a model (2 × context_length × head_dim/2 doubles).
 */
final class RotaryEmbedding {
  private final int half;
  private final double[][] cos; // [context_length][D/2]
  private final double[][] sin;

  /** The tables of {@code config}, or null when it has learned positions. */
  static RotaryEmbedding of(ModelConfig config) {
    return config.usesRope() ? new RotaryEmbedding(config) : null;
  }

  RotaryEmbedding(ModelConfig config) {
    int d = config.headDim();
    this.half = d / 2;
    int positions = config.contextLength();
    cos = new double[positions][half];
    sin = new double[positions][half];
    for (int i = 0; i < half; i++) {
      double frequency = Math.pow(config.ropeTheta(), -2.0 * i / d);
      for (int t = 0; t < positions; t++) {
        cos[t][i] = Math.cos(t * frequency);
        sin[t][i] = Math.sin(t * frequency);
      }
    }
  }

  /**
   * Rotates x [G, T, D] (contiguous; G sequences or heads) in place, x[g, t] being at position {@code offset} + t;
   * {@code inverse} rotates back (the gradient of the forward rotation).
   */
  void rotate(INDArray x, int offset, boolean inverse) {
    int time = (int) x.size(x.rank() - 2);
    int rows = (int) (x.length() / x.size(x.rank() - 1));
    double sign = inverse ? -1 : 1;
    RowBuffer buffer = new RowBuffer(x);
    double[] row = new double[2 * half];
    for (int r = 0; r < rows; r++) {
      double[] c = cos[offset + r % time];
      double[] s = sin[offset + r % time];
      buffer.read(r, row);
      turn(row, c, s, sign);
      buffer.write(r, row);
    }
  }

  /** Rotates the {@code heads} consecutive heads of width D in {@code x} from {@code from}, all at {@code position}. */
  void rotateRow(float[] x, int from, int heads, int position) {
    double[] head = new double[2 * half];
    for (int h = 0; h < heads; h++) {
      int at = from + h * 2 * half;
      for (int i = 0; i < head.length; i++) {
        head[i] = x[at + i];
      }
      turn(head, cos[position], sin[position], 1);
      for (int i = 0; i < head.length; i++) {
        x[at + i] = (float) head[i];
      }
    }
  }

  /** One head [D] turned in place: pairs (i, i + D/2) by the angles of c/s, backwards when {@code sign} is -1. */
  private void turn(double[] head, double[] c, double[] s, double sign) {
    for (int i = 0; i < half; i++) {
      double first = head[i];
      double second = head[i + half];
      head[i] = first * c[i] - sign * second * s[i];
      head[i + half] = second * c[i] + sign * first * s[i];
    }
  }
}
