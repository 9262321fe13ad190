package dev.sparkgpt.report;

import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a report directory all at once: every file goes into a hidden sibling {@code .NAME.tmp-<uuid>/}, which is
 * renamed to NAME only when all are written. A reader finds the old report, none, or the whole new one; a failure
 * while rendering leaves neither a half report nor the temporary directory. An existing NAME is replaced only when
 * it looks like a report (report.html beside nothing but .png and .html files), so a mistyped --out never deletes a
 * run.
 */
public final class ReportDirectory {
  /** The bytes of one file, made when it is written (rendering a chart may fail: that aborts the whole write). */
  @FunctionalInterface
  public interface Content {
    byte[] render() throws IOException;
  }

  private ReportDirectory() {}

  /** Writes {@code files} (name → content, plain names only) as the directory {@code dir} (any Hadoop path). */
  public static void write(String dir, Map<String, Content> files, Configuration conf) {
    Path target = new Path(dir);
    Path parent = target.getParent();
    if (parent == null) {
      throw new OutputException(dir + ": cannot write a report at the file system root. Fix: give --out a "
          + "directory such as runs/x/report");
    }
    Path temporary = new Path(parent, "." + target.getName() + ".tmp-" + UUID.randomUUID());
    Path old = new Path(parent, "." + target.getName() + ".old-" + UUID.randomUUID());
    FileSystem fs = null;
    boolean oldMoved = false;
    try {
      fs = target.getFileSystem(conf);
      checkReplaceable(fs, target, dir);
      if (!fs.mkdirs(temporary)) {
        throw new IOException("cannot create " + temporary);
      }
      for (Map.Entry<String, Content> file : files.entrySet()) {
        String name = file.getKey();
        if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
          throw new IllegalArgumentException("not a plain file name: \"" + name + "\"");
        }
        byte[] bytes = file.getValue().render();
        try (OutputStream out = fs.create(new Path(temporary, name), false)) {
          out.write(bytes);
        }
      }
      if (fs.exists(target)) {
        if (!fs.rename(target, old)) {
          throw new IOException("cannot move the old report " + target + " aside");
        }
        oldMoved = true;
      }
      if (!fs.rename(temporary, target)) {
        throw new IOException("rename " + temporary + " -> " + target + " failed");
      }
      if (oldMoved) {
        fs.delete(old, true);
      }
    } catch (IOException | RuntimeException e) {
      cleanUp(fs, temporary, oldMoved ? old : null, target);
      if (e instanceof OutputException o) {
        throw o;
      }
      throw new OutputException(dir + ": cannot write the report: " + e.getMessage()
          + ". Fix: check the path, permissions and free space (run with --verbose for the cause)", e);
    }
  }

  private static void checkReplaceable(FileSystem fs, Path target, String dir) throws IOException {
    if (!fs.exists(target)) {
      return;
    }
    if (!fs.getFileStatus(target).isDirectory()) {
      throw new OutputException(dir + ": is a file. Fix: give --out a directory for report.html and the charts");
    }
    FileStatus[] entries = fs.listStatus(target);
    boolean hasHtml = false;
    for (FileStatus e : entries) {
      String name = e.getPath().getName();
      if (!e.isFile() || !(name.endsWith(".png") || name.endsWith(".html"))) {
        throw new OutputException(dir + ": exists and holds " + name + ", so it is not a report directory; "
            + "nothing was written. Fix: give --out a new directory, or remove this one");
      }
      hasHtml |= name.equals(RunReport.HTML_FILE);
    }
    if (entries.length > 0 && !hasHtml) {
      throw new OutputException(dir + ": exists without " + RunReport.HTML_FILE + ", so it is not a report "
          + "directory; nothing was written. Fix: give --out a new directory, or remove this one");
    }
  }

  /** Removes the temporary directory and, if the old report was moved aside but the new one is not in place, moves
   * it back. */
  private static void cleanUp(FileSystem fs, Path temporary, Path old, Path target) {
    if (fs == null) {
      return;
    }
    try {
      fs.delete(temporary, true);
      if (old != null && !fs.exists(target)) {
        fs.rename(old, target);
      }
    } catch (IOException ignored) {
      // the names are hidden and unique: a leftover is never taken for a report
    }
  }
}
