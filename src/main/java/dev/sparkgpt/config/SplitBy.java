package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How the tokenize job holds out validation data ({@code split}). */
public enum SplitBy {
  /** Each document goes to train or val by its content hash (salted by seed). */
  DOCUMENTS,
  /** The last val_fraction of the token stream is val (the book's 90/10 split of one text). */
  TOKENS;

  /** The YAML spelling: documents, tokens. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return key();
  }
}
