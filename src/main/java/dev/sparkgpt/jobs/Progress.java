package dev.sparkgpt.jobs;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A console progress bar (rate and ETA) fed by a counter the driver can read, such as a Spark accumulator.
 * On a terminal it redraws in place; otherwise (Airflow, CI logs) it prints a plain line every 10 seconds.
 */
public final class Progress implements AutoCloseable {
  private final ProgressBar bar;
  private final ScheduledExecutorService poller;

  private Progress(ProgressBar bar, ScheduledExecutorService poller) {
    this.bar = bar;
    this.poller = poller;
  }

  /**
   * Starts a bar named {@code task} up to {@code total} raw counts (shown in {@code unit}s of {@code unitSize}
   * counts, e.g. "MB", 1_000_000), polling {@code current} and the extra text {@code extra} twice a second.
   */
  public static Progress start(String task, long total, String unit, long unitSize, LongSupplier current,
      Supplier<String> extra) {
    boolean tty = System.console() != null;
    ProgressBarBuilder builder = new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total)
        .setUnit(unit, unitSize)
        .showSpeed()
        .setStyle(ProgressBarStyle.ASCII);
    if (tty) {
      builder.setUpdateIntervalMillis(500).continuousUpdate();
    } else {
      builder.setUpdateIntervalMillis(10_000)
          .setConsumer(new DelegatingProgressBarConsumer(line -> System.err.println(line.trim()), 100));
    }
    ProgressBar bar = builder.build();
    ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sparkgpt-progress");
      t.setDaemon(true);
      return t;
    });
    poller.scheduleAtFixedRate(() -> {
      bar.stepTo(Math.min(total, current.getAsLong()));
      bar.setExtraMessage(extra.get());
    }, 0, 500, TimeUnit.MILLISECONDS);
    return new Progress(bar, poller);
  }

  /** Stops polling; the bar shows its final value. */
  @Override
  public void close() {
    poller.shutdownNow();
    bar.close();
  }

  /** Sets the final value and text before closing (a finished stage shows 100% and its true counts). */
  public void finish(long value, String extra) {
    bar.stepTo(value);
    bar.setExtraMessage(extra);
  }
}
