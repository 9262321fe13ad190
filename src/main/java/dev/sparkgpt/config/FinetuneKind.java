package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The pipeline's optional finetune stage ({@code finetune.kind}): the {@code finetune} verb's subcommands. */
public enum FinetuneKind {
  /** No finetune stage. */
  NONE,
  CLASSIFY,
  INSTRUCT;

  /** The YAML spelling: none, classify, instruct. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return key();
  }
}
