package dev.sparkgpt.eval;

import java.io.Serializable;
import java.util.Objects;

/**
 * Builds a {@link ScoringModel} where it is used: shipped to Spark executors (hence Serializable), called once per
 * group of batches there, and once on the driver for the single-thread path.
 */
@FunctionalInterface
public interface ModelFactory extends Serializable {
  ScoringModel create();

  /** A factory that hands out {@code model} itself (serialised with the factory); the model must be Serializable. */
  static ModelFactory of(ScoringModel model) {
    Objects.requireNonNull(model, "model");
    if (!(model instanceof Serializable)) {
      throw new IllegalArgumentException(model.getClass().getName() + " is not Serializable, so it cannot be shipped"
          + " to Spark executors. Fix: pass a ModelFactory that builds the model on the executor, or set"
          + " distributed: false");
    }
    return new Fixed(model);
  }

  /** The factory {@link #of} returns. */
  final class Fixed implements ModelFactory {
    private static final long serialVersionUID = 1L;
    private final ScoringModel model;

    private Fixed(ScoringModel model) {
      this.model = model;
    }

    @Override
    public ScoringModel create() {
      return model;
    }
  }
}
