package dev.sparkgpt.model;

/**
 * A seeded random stream whose whole state is one {@code long} (SplitMix64), so a checkpoint can save it and a
 * resumed run draws exactly the same dropout masks. Not thread-safe: one stream per model.
 */
public final class RandomStream {
  private static final double TWO_PI = 2 * Math.PI;
  private long state;

  public RandomStream(long seed) {
    this.state = seed;
  }

  /** The state to save; {@link #setState(long)} with it continues the same sequence. */
  public long state() {
    return state;
  }

  public void setState(long state) {
    this.state = state;
  }

  public long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }

  /** Fills {@code out} with N(0, std²) draws (Box–Muller, both values of each pair used). */
  public void fillGaussian(double[] out, double std) {
    for (int i = 0; i < out.length; i += 2) {
      double u1 = 1.0 - nextDouble(); // (0, 1]: log is finite
      double u2 = nextDouble();
      double r = std * Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(TWO_PI * u2);
      if (i + 1 < out.length) {
        out[i + 1] = r * Math.sin(TWO_PI * u2);
      }
    }
  }

  /**
   * Fills {@code out} with an inverted-dropout mask: 0 with probability {@code rate}, else 1 / (1 - rate). Each
   * {@code long} gives two 32-bit draws.
   */
  public void fillDropoutMask(float[] out, double rate) {
    long threshold = (long) Math.ceil(rate * 0x1.0p32); // keep when draw ≥ threshold
    float keep = (float) (1.0 / (1.0 - rate));
    for (int i = 0; i < out.length; i += 2) {
      long bits = nextLong();
      out[i] = (bits >>> 32) >= threshold ? keep : 0f;
      if (i + 1 < out.length) {
        out[i + 1] = (bits & 0xFFFFFFFFL) >= threshold ? keep : 0f;
      }
    }
  }
}
