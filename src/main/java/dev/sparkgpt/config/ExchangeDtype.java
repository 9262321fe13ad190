package dev.sparkgpt.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What parameter-averaging workers send back ({@code train.exchange_dtype}); sums are f32 either way. */
public enum ExchangeDtype {
  F32(4),
  /** bfloat16 pseudo-gradients: half the bytes. */
  BF16(2);

  private final int bytes;

  ExchangeDtype(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element on the wire. */
  public int bytes() {
    return bytes;
  }

  /** The YAML spelling: f32, bf16. */
  @JsonValue
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return key();
  }
}
