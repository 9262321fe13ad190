package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Which parameters a classification finetune trains ({@code train.trainable}). */
public enum Trainable {
  /** Every parameter. */
  ALL,
  /** The last transformer block, the final norm and the head (the book's choice). */
  LAST_BLOCK_AND_HEAD,
  /** The new classification head only. */
  HEAD;

  /** The YAML spelling: all, last_block_and_head, head. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return key();
  }
}
