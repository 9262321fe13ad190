package dev.sparkgpt.config;

/** What parameter-averaging workers send back ({@code train.exchange_dtype}); sums are f32 either way. */
public enum ExchangeDtype implements YamlEnum {
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

  @Override
  public String toString() {
    return key();
  }
}
