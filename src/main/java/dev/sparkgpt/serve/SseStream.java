package dev.sparkgpt.serve;

import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Server-sent events between a generating worker and the connection thread that writes them: the worker puts
 * events into a bounded buffer and never touches the socket, so a client that reads slowly slows nothing but
 * itself. When the buffer stays full for the stall limit (the client stopped reading), the worker's next event
 * cancels its generation, which frees the worker; the connection thread, stuck in its write, is cut off by the
 * {@link WriteWatchdog}.
 */
final class SseStream {
  /** Events buffered between the worker and the socket. */
  static final int CAPACITY = 256;
  private static final byte[] END = new byte[0];

  private final BlockingQueue<byte[]> events = new ArrayBlockingQueue<>(CAPACITY);
  private final Cancellation cancellation;
  private final long stallMillis;

  SseStream(Cancellation cancellation, long stallMillis) {
    this.cancellation = cancellation;
    this.stallMillis = stallMillis;
  }

  /** Worker side: one {@code data:} event with {@code body} as JSON; waits at most the stall limit for room. */
  void send(Object body) {
    cancellation.check();
    byte[] bytes = ("data: " + JsonFiles.line(body) + "\n").getBytes(StandardCharsets.UTF_8);
    try {
      if (!events.offer(bytes, stallMillis, TimeUnit.MILLISECONDS)) {
        cancellation.cancel("the client stopped reading");
        cancellation.check();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Cancellation.Cancelled("interrupted");
    }
  }

  /** Worker side: no more events (always called, also after a failure). */
  void end() {
    try {
      events.offer(END, stallMillis, TimeUnit.MILLISECONDS); // not taken: the writer is stuck and will be cut off
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Connection side: writes events as they come until the worker ends or the deadline passes (then an error event
   * says so); each write is watched. Returns the reason the stream ended early, or null.
   */
  String drain(OutputStream out, WriteWatchdog watchdog) throws IOException {
    while (true) {
      byte[] next;
      try {
        next = events.poll(Math.max(1, Math.min(250, cancellation.remainingMillis())), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "interrupted";
      }
      if (next == END) {
        // the worker may have seen the deadline first (between two tokens) and stopped without an event: the
        // client must still be told its answer was cut off, not see a clean end
        if ("deadline".equals(cancellation.reason())) {
          return timedOut(out, watchdog);
        }
        return null;
      }
      if (next == null) {
        if (cancellation.remainingMillis() <= 0) {
          cancellation.cancel("deadline");
          return timedOut(out, watchdog);
        }
        continue;
      }
      write(out, watchdog, next);
    }
  }

  private String timedOut(OutputStream out, WriteWatchdog watchdog) throws IOException {
    write(out, watchdog, ("data: " + JsonFiles.line(ApiError.timeout().body()) + "\n").getBytes(
        StandardCharsets.UTF_8));
    write(out, watchdog, "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    return "deadline";
  }

  private void write(OutputStream out, WriteWatchdog watchdog, byte[] bytes) throws IOException {
    try (WriteWatchdog.Watch watch = watchdog.watch()) {
      try {
        out.write(bytes);
        out.flush();
      } catch (IOException e) {
        cancellation.cancel(watch.fired() ? "the client stopped reading" : "the client went away");
        throw e;
      }
    }
  }
}
