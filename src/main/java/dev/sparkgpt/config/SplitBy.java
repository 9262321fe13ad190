package dev.sparkgpt.config;

/** How the tokenize job holds out validation data ({@code split}). */
public enum SplitBy implements YamlEnum {
  /** Each document goes to train or val by its content hash (salted by seed). */
  DOCUMENTS,
  /** The last val_fraction of the token stream is val (the book's 90/10 split of one text). */
  TOKENS;

  @Override
  public String toString() {
    return key();
  }
}
