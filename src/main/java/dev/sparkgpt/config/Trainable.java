package dev.sparkgpt.config;

/** Which parameters a classification finetune trains ({@code train.trainable}). */
public enum Trainable implements YamlEnum {
  /** Every parameter. */
  ALL,
  /** The last transformer block, the final norm and the head (the book's choice). */
  LAST_BLOCK_AND_HEAD,
  /** The new classification head only. */
  HEAD;

  @Override
  public String toString() {
    return key();
  }
}
