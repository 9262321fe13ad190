package dev.sparkgpt.config;

/** The pipeline's optional finetune stage ({@code finetune.kind}): the {@code finetune} verb's subcommands. */
public enum FinetuneKind implements YamlEnum {
  /** No finetune stage. */
  NONE,
  CLASSIFY,
  INSTRUCT;

  @Override
  public String toString() {
    return key();
  }
}
