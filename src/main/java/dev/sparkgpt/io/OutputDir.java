package dev.sparkgpt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A job's output directory, written in a hidden staging sibling and renamed into place when complete, so a crash
 * never leaves something that looks finished. A finished directory holds {@code _SUCCESS} (written last).
 */
public final class OutputDir {
  public static final String SUCCESS = "_SUCCESS";

  private final FileSystem fs;
  private final Path target;
  private final Path staging;
  private final String marker;

  private OutputDir(FileSystem fs, Path target, Path staging, String marker) {
    this.fs = fs;
    this.target = target;
    this.staging = staging;
    this.marker = marker;
  }

  /** What {@link #prepare} found at the target path. */
  public enum State { ABSENT, COMPLETE }

  /**
   * Checks the target: absent or empty → ABSENT; holds {@code _SUCCESS} and {@code marker} (the file that makes it
   * ours, e.g. manifest.json) → COMPLETE; anything else → an InputException naming it (we never delete what is not ours).
   */
  public static State inspect(String target, String marker, Configuration conf) {
    Path path = new Path(target);
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        return State.ABSENT;
      }
      FileStatus status = fs.getFileStatus(path);
      if (!status.isDirectory()) {
        throw new InputException(target + ": output path exists and is a file. Fix: choose another --output");
      }
      if (fs.listStatus(path).length == 0) {
        return State.ABSENT;
      }
      if (fs.exists(new Path(path, marker)) && fs.exists(new Path(path, SUCCESS))) {
        return State.COMPLETE;
      }
      throw new InputException(target + ": output directory exists, is not empty and is not a finished SparkGPT output"
          + " (no " + marker + " + " + SUCCESS + "). Fix: choose another --output or remove it yourself");
    } catch (IOException e) {
      throw new InputException(target + ": cannot inspect output path: " + e.getMessage(), e);
    }
  }

  /** Creates a fresh staging directory next to {@code target}; {@code marker} names the file that makes it ours. */
  public static OutputDir create(String target, String marker, Configuration conf) {
    Path path = new Path(target);
    try {
      FileSystem fs = path.getFileSystem(conf);
      Path parent = path.getParent() == null ? path : path.getParent();
      Path staging = new Path(parent, "." + path.getName() + ".staging-" + UUID.randomUUID());
      if (!fs.mkdirs(staging)) {
        throw new InputException(staging + ": cannot create staging directory. Fix: check permissions and free space");
      }
      return new OutputDir(fs, fs.makeQualified(path), fs.makeQualified(staging), marker);
    } catch (IOException e) {
      throw new InputException(target + ": cannot create output: " + e.getMessage()
          + ". Fix: check the path, permissions and free space", e);
    }
  }

  /** Where the job writes while running (qualified, e.g. file:/... or hdfs://...). */
  public Path staging() {
    return staging;
  }

  public Path target() {
    return target;
  }

  /** Writes a small UTF-8 file inside the staging directory. */
  public void writeText(String name, String text) {
    writeBytes(name, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Writes a small file inside the staging directory. */
  public void writeBytes(String name, byte[] bytes) {
    try (OutputStream out = fs.create(new Path(staging, name), true)) {
      out.write(bytes);
    } catch (IOException e) {
      throw new InputException(new Path(staging, name) + ": cannot write: " + e.getMessage()
          + ". Fix: check free space and permissions", e);
    }
  }

  /** Writes {@code _SUCCESS} and moves staging onto the target (replacing a previous finished output if any). */
  public void commit() {
    try {
      writeText(SUCCESS, "");
      if (fs.exists(target)) {
        if (!fs.delete(target, true)) {
          throw new IOException("could not delete the previous output");
        }
      }
      if (!fs.rename(staging, target)) {
        throw new IOException("rename from " + staging + " failed");
      }
    } catch (IOException e) {
      throw new InputException(target + ": cannot move the finished output into place: " + e.getMessage(), e);
    }
  }

  /** Removes the staging directory (after a failure); never touches the target. */
  public void abort() {
    try {
      fs.delete(staging, true);
    } catch (IOException ignored) {
      // best effort: the staging name is hidden and unique, a leftover never looks finished
    }
  }
}
