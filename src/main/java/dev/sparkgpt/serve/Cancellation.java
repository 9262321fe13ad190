package dev.sparkgpt.serve;

/**
 * Why a request's generation must stop early: its deadline passed, its client stopped reading or went away. The
 * generation checks between tokens ({@link #check}) and ends with {@link Cancelled}, freeing its worker.
 */
final class Cancellation {
  /** Thrown out of a generation that was cancelled. */
  static final class Cancelled extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Cancelled(String reason) {
      super(reason, null, false, false);
    }
  }

  private final long deadlineNanos;
  private volatile String reason;

  /** A request that must be answered within {@code timeoutMillis} of now. */
  Cancellation(long timeoutMillis) {
    this.deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000L;
  }

  void cancel(String why) {
    if (reason == null) {
      reason = why;
    }
  }

  /** Milliseconds left before the deadline (≤ 0: passed). */
  long remainingMillis() {
    return (deadlineNanos - System.nanoTime()) / 1_000_000L;
  }

  /** Throws {@link Cancelled} once cancelled or past the deadline. */
  void check() {
    if (reason == null && remainingMillis() <= 0) {
      cancel("deadline");
    }
    if (reason != null) {
      throw new Cancelled(reason);
    }
  }

  /** null while the request may go on. */
  String reason() {
    return reason;
  }
}
