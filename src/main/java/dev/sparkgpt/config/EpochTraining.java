package dev.sparkgpt.config;

/**
 * The {@code train:} keys both finetunes share (classify and instruct): what {@code finetune.Finetuning} runs on,
 * read the same way from either config.
 */
public interface EpochTraining {
  /** Passes over the training examples. */
  int epochs();

  int batchSize();

  /** Gradient clipping norm; 0 = off. */
  double maxNorm();

  /** A step line every this many steps. */
  int logInterval();

  Strategy strategy();

  /** parameter_averaging: Spark tasks per round. */
  int workers();

  /** parameter_averaging: steps each worker takes between averagings. */
  int averagingFrequency();

  /** Epochs without a better validation loss before stopping; 0 = off. */
  int patience();

  /** Also write the metrics as TensorBoard event files under out_dir/tensorboard. */
  boolean tensorboard();
}
