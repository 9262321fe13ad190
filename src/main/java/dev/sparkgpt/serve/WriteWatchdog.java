package dev.sparkgpt.serve;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Frees a connection thread stuck writing to a client that stopped reading. A response write to a full socket
 * blocks for as long as the client keeps its window shut, which the kernel allows forever; a thread inside
 * {@link #watch} longer than the stall limit is interrupted, which closes the connection's (interruptible) socket
 * channel and ends the write with an exception.
 */
final class WriteWatchdog implements AutoCloseable {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "serve-watchdog");
    t.setDaemon(true);
    return t;
  });
  private final long stallMillis;

  WriteWatchdog(long stallMillis) {
    this.stallMillis = stallMillis;
  }

  /** A write in progress on the calling thread; close it when the write returns. */
  final class Watch implements AutoCloseable {
    private final Thread thread = Thread.currentThread();
    private final ScheduledFuture<?> alarm;
    private boolean done;
    private boolean fired;

    private Watch() {
      alarm = timer.schedule(this::fire, stallMillis, TimeUnit.MILLISECONDS);
    }

    private synchronized void fire() {
      if (!done) {
        fired = true;
        thread.interrupt();
      }
    }

    /** The watchdog cut this write off. */
    synchronized boolean fired() {
      return fired;
    }

    @Override
    public void close() {
      synchronized (this) {
        done = true;
      }
      alarm.cancel(false);
      if (fired) {
        Thread.interrupted(); // the pool thread goes back without the flag
      }
    }
  }

  /** Starts watching one write by the calling thread. */
  Watch watch() {
    return new Watch();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
