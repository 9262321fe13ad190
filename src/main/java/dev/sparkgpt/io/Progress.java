package dev.sparkgpt.io;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A console progress bar (count, rate and ETA) fed by a counter the driver can read, such as a Spark accumulator
 * or a training loop's step. On a terminal it redraws one line of stderr in place, and the job's own console lines
 * are printed above it ({@link #shareTerminal}). Without a terminal (Airflow, CI logs, tests) there is no bar and
 * no carriage return: a job that prints no lines of its own (tokenize, eval, judge) gets a plain progress line
 * every 10 seconds; one that logs every few steps itself (pretrain, finetune) prints nothing more.
 */
public final class Progress implements AutoCloseable {
  /** Between two plain lines when stderr is not a terminal. */
  public static final long LINE_INTERVAL_MS = 10_000;
  private static final long POLL_MS = 500;
  private static final String ERASE_LINE = "\r\033[K";
  /** Guards the terminal: the bar's redraws and the console lines printed above it. */
  private static final Object TERMINAL = new Object();
  /** The bar line on the terminal now, if any (jobs run one bar at a time). */
  private static TerminalLine drawn;

  /**
   * What a bar shows.
   *
   * @param task the name in front of the bar ("pretrain", "eval copa")
   * @param total the count at 100%, read at every poll (≤ 0: unknown, the bar shows no percentage or ETA)
   * @param unit the unit of the count ("steps", "MB") and its size in raw counts ({@code unitSize})
   * @param current the raw count now; the bar starts from its value at {@link #start}
   * @param extra text after the bar (loss, tokens/s ...)
   * @param quietWithoutTerminal true for jobs that print their own progress lines: nothing at all off a terminal
   */
  public record Spec(String task, LongSupplier total, String unit, long unitSize, LongSupplier current,
      Supplier<String> extra, boolean quietWithoutTerminal) {}

  private final ProgressBar bar;
  private final ScheduledExecutorService poller;
  private final Spec spec;
  private final TerminalLine line;
  private volatile boolean finished;

  private Progress(ProgressBar bar, ScheduledExecutorService poller, Spec spec, TerminalLine line) {
    this.bar = bar;
    this.poller = poller;
    this.spec = spec;
    this.line = line;
  }

  /**
   * Starts a bar named {@code task} up to {@code total} raw counts (shown in {@code unit}s of {@code unitSize}
   * counts, e.g. "MB", 1_000_000), polling {@code current} and the extra text {@code extra} twice a second; plain
   * lines every 10 s when not on a terminal.
   */
  public static Progress start(String task, long total, String unit, long unitSize, LongSupplier current,
      Supplier<String> extra) {
    return start(new Spec(task, () -> total, unit, unitSize, current, extra, false));
  }

  /** Starts the bar of {@code spec} on stderr; a terminal is a process with a console (System.console()). */
  public static Progress start(Spec spec) {
    return start(spec, System.console() != null, System.err, LINE_INTERVAL_MS);
  }

  /** Starts the bar of {@code spec} on {@code err}, as on a terminal or not, lines every {@code lineMillis}. */
  static Progress start(Spec spec, boolean terminal, PrintStream err, long lineMillis) {
    if (!terminal && spec.quietWithoutTerminal()) {
      return new Progress(null, null, spec, null);
    }
    long total = spec.total().getAsLong();
    ProgressBarBuilder builder = new ProgressBarBuilder()
        .setTaskName(spec.task())
        .setInitialMax(total > 0 ? total : -1)
        .setUnit(" " + spec.unit(), spec.unitSize())
        .showSpeed()
        .startsFrom(spec.current().getAsLong(), Duration.ZERO)
        .setStyle(ProgressBarStyle.ASCII);
    TerminalLine line = terminal ? new TerminalLine(err) : null;
    if (terminal) {
      int width = new ConsoleProgressBarConsumer(err).getMaxRenderedLength();
      builder.setUpdateIntervalMillis((int) POLL_MS).continuousUpdate()
          .setConsumer(new DelegatingProgressBarConsumer(line::draw, width >= 40 ? width : 80));
    } else {
      builder.setUpdateIntervalMillis((int) lineMillis)
          .setConsumer(new DelegatingProgressBarConsumer(new PlainLines(err), 120));
    }
    ProgressBar bar = builder.build();
    ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sparkgpt-progress");
      t.setDaemon(true);
      return t;
    });
    Progress progress = new Progress(bar, poller, spec, line);
    poller.scheduleAtFixedRate(progress::poll, 0, POLL_MS, TimeUnit.MILLISECONDS);
    return progress;
  }

  private synchronized void poll() {
    if (finished) {
      return; // finish() set the final value
    }
    long total = spec.total().getAsLong();
    if (total > 0 && total != bar.getMax()) {
      bar.maxHint(total);
    }
    long now = spec.current().getAsLong();
    bar.stepTo(total > 0 ? Math.min(total, now) : now);
    bar.setExtraMessage(spec.extra().get());
  }

  /** Off a terminal: each update as a plain line, a repeat of the previous one left out. */
  private static final class PlainLines implements java.util.function.Consumer<String> {
    private final PrintStream err;
    private String last;

    PlainLines(PrintStream err) {
      this.err = err;
    }

    @Override
    public void accept(String rendered) {
      String line = rendered.replace("\r", "").trim();
      synchronized (TERMINAL) {
        if (!line.equals(last)) {
          err.println(line);
          err.flush();
          last = line;
        }
      }
    }
  }

  /** The terminal line a bar redraws in place. */
  private record TerminalLine(PrintStream err) {
    void draw(String rendered) {
      synchronized (TERMINAL) {
        drawn = this;
        err.print(ERASE_LINE + rendered.replace("\r", "").trim());
        err.flush();
      }
    }

    /** Ends the line under a bar that is still shown, so the next output starts below it. */
    void end() {
      synchronized (TERMINAL) {
        if (drawn == this) {
          err.println();
          err.flush();
          drawn = null;
        }
      }
    }
  }

  /** Stops polling; the bar shows its final value (on a terminal it stays, and the next line goes below it). */
  @Override
  public void close() {
    if (bar == null) {
      return;
    }
    poller.shutdownNow();
    poll(); // the final count, which the last poll may have missed
    bar.close();
    if (line != null) {
      line.end();
    }
  }

  /** Sets the final value and text before closing (a finished stage shows 100% and its true counts). */
  public synchronized void finish(long value, String extra) {
    if (bar != null) {
      finished = true;
      bar.stepTo(value);
      bar.setExtraMessage(extra);
    }
  }

  /**
   * When this process has a terminal, replaces System.out by a stream that first erases a bar drawn on the
   * terminal's last line, so console lines appear above the bar instead of after it (the bar redraws within half
   * a second). Called once by the entry points ({@code Main}, {@code Jobs.execute}).
   */
  public static void shareTerminal() {
    if (System.console() != null && !(System.out instanceof AboveBar)) {
      System.setOut(new AboveBar(System.out, System.err));
    }
  }

  /** A console stream whose writes erase the bar line first. */
  static final class AboveBar extends PrintStream {
    AboveBar(PrintStream out, PrintStream err) {
      super(new OutputStream() {
        @Override
        public void write(int b) {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int off, int len) {
          synchronized (TERMINAL) {
            if (drawn != null) {
              err.print(ERASE_LINE);
              err.flush();
              drawn = null; // redrawn at the bar's next update
            }
            out.write(bytes, off, len);
            out.flush();
          }
        }

        @Override
        public void flush() {
          out.flush();
        }
      }, true, StandardCharsets.UTF_8);
    }
  }
}
