package dev.sparkgpt.report;

import java.util.Arrays;
import java.util.Objects;

/**
 * One named line of a chart: points (x[i], y[i]) in x order, every value finite. What {@link RunMetrics} extracts
 * from a run and {@link ReportCharts} draws.
 *
 * @param name the legend entry, e.g. {@code train_loss}
 * @param x the x values (tokens seen, step, epoch, round)
 * @param y the y values, as many as x
 */
public record Series(String name, double[] x, double[] y) {
  public Series {
    Objects.requireNonNull(name, "name");
    if (x.length != y.length) {
      throw new IllegalArgumentException(name + ": " + x.length + " x values but " + y.length + " y values");
    }
  }

  public int size() {
    return x.length;
  }

  public boolean isEmpty() {
    return x.length == 0;
  }

  /** The points whose x is above zero (what a logarithmic x axis can show). */
  public Series withPositiveX() {
    int kept = 0;
    double[] keptX = new double[x.length];
    double[] keptY = new double[y.length];
    for (int i = 0; i < x.length; i++) {
      if (x[i] > 0) {
        keptX[kept] = x[i];
        keptY[kept++] = y[i];
      }
    }
    return new Series(name, Arrays.copyOf(keptX, kept), Arrays.copyOf(keptY, kept));
  }

  // a record compares arrays by identity; two series are equal when their points are
  @Override
  public boolean equals(Object o) {
    return o instanceof Series s && name.equals(s.name) && Arrays.equals(x, s.x) && Arrays.equals(y, s.y);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, Arrays.hashCode(x), Arrays.hashCode(y));
  }

  @Override
  public String toString() {
    return name + Arrays.toString(x) + "->" + Arrays.toString(y);
  }
}
