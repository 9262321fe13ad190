package dev.sparkgpt.io;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.tensorflow.proto.Summary;
import org.tensorflow.hadoop.util.TFRecordWriter;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.SessionLog;

/**
 * A TensorBoard event file ({@code events.out.tfevents.<seconds>.<host>.<pid>.sparkgpt}) in a run's
 * {@code tensorboard/} directory, on any Hadoop FileSystem: TensorFlow's own {@code Event} protocol buffers
 * (TensorFlow Java's {@code org.tensorflow.proto}) framed as TFRecords by TensorFlow's Hadoop writer ({@code tensorflow-hadoop}), the
 * format {@code tensorboard --logdir} reads. Each numeric value of a metrics line becomes a scalar at the line's
 * step; every record is flushed as written. Each run (and each resume) opens a new file starting with a SessionLog
 * START at its first step, which makes TensorBoard drop earlier files' points from that step on — the same "a
 * resumed run never shows a step twice" rule as metrics.jsonl.
 */
public final class TensorBoardEvents implements AutoCloseable {
  /** The run directory's subdirectory that holds the event files (give it to {@code tensorboard --logdir}). */
  public static final String DIR = "tensorboard";
  private static final String PREFIX = "events.out.tfevents.";

  private final Path file;
  private final FSDataOutputStream out;
  private final TFRecordWriter records;

  private TensorBoardEvents(Path file, FSDataOutputStream out) {
    this.file = file;
    this.out = out;
    this.records = new TFRecordWriter(out);
  }

  /**
   * Opens a new event file under {@code runDir/tensorboard/}, starting with the START marker at {@code firstStep}
   * (the first step this run trains: 0 for a fresh run, the step after the checkpoint for a resumed one), which
   * supersedes earlier files' points at and after that step.
   */
  public static TensorBoardEvents open(String runDir, long firstStep, Configuration conf) {
    double now = System.currentTimeMillis() / 1000.0;
    Path dir = new Path(runDir, DIR);
    Path file = dir;
    try {
      FileSystem fs = dir.getFileSystem(conf);
      fs.mkdirs(dir);
      // TensorBoard reads a directory's files in name order: this run's file must sort after every earlier one,
      // even one written in the same second or by a host whose clock runs ahead
      long seconds = (long) now;
      for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
        String[] parts = st.getPath().getName().split("\\.");
        if (parts.length > 3 && st.getPath().getName().startsWith(PREFIX) && parts[3].matches("\\d{1,18}")) {
          seconds = Math.max(seconds, Long.parseLong(parts[3]) + 1);
        }
      }
      file = new Path(dir, String.format("%s%d.%s.%d.sparkgpt", PREFIX, seconds, host(),
          ProcessHandle.current().pid()));
      TensorBoardEvents events = new TensorBoardEvents(file, fs.create(file, false));
      events.append(Event.newBuilder().setWallTime(now).setFileVersion("brain.Event:2").build());
      events.append(Event.newBuilder().setWallTime(now).setStep(firstStep)
          .setSessionLog(SessionLog.newBuilder().setStatus(SessionLog.SessionStatus.START)).build());
      return events;
    } catch (IOException e) {
      throw new OutputException(file + ": cannot create the TensorBoard event file: " + e.getMessage()
          + ". Fix: make " + dir + " writable, or set train.tensorboard=false", e);
    }
  }

  /** The event file being written. */
  public Path file() {
    return file;
  }

  /**
   * Writes every finite number of {@code line} (booleans, strings, nested values and {@code skip} keys left out) as a
   * scalar tagged {@code prefix + key} at {@code step}, in one event.
   */
  public void scalars(long step, String prefix, Map<String, ?> line, java.util.Set<String> skip) {
    Summary.Builder summary = Summary.newBuilder();
    for (Map.Entry<String, ?> e : line.entrySet()) {
      if (!skip.contains(e.getKey()) && e.getValue() instanceof Number n && Double.isFinite(n.doubleValue())) {
        summary.addValue(Summary.Value.newBuilder().setTag(prefix + e.getKey()).setSimpleValue(n.floatValue()));
      }
    }
    if (summary.getValueCount() > 0) {
      append(Event.newBuilder().setWallTime(System.currentTimeMillis() / 1000.0).setStep(step).setSummary(summary)
          .build());
    }
  }

  private void append(Event event) {
    try {
      records.write(event.toByteArray());
      out.hflush();
    } catch (IOException e) {
      throw new OutputException(file + ": cannot write a TensorBoard event: " + e.getMessage()
          + ". Fix: free space or restore access on that file system, or set train.tensorboard=false (metrics.jsonl"
          + " holds the same numbers)", e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException ignored) {
      // every event was flushed when written
    }
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "_");
    } catch (IOException e) {
      return ManagementFactory.getRuntimeMXBean().getName().replaceAll("[^A-Za-z0-9._-]", "_");
    }
  }
}
