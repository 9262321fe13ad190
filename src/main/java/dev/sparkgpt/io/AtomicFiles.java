package dev.sparkgpt.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.hadoop.fs.UnsupportedFileSystemException;

/**
 * Small files replaced as a whole on any Hadoop file system: written beside the target under a hidden temporary
 * name, synced to disk where the file system can, then renamed over the target in one step. A reader sees the old
 * content or the new one, never a missing or half-written file. Object stores (s3a:) have no rename-overwrite, but
 * there a single PUT is already atomic, so the content is written to the target directly.
 */
public final class AtomicFiles {
  /** Prefix of the temporary files this class writes (collected as leftovers after a crash). */
  public static final String TMP_PREFIX = ".tmp-";

  private AtomicFiles() {}

  /** Replaces {@code target} with {@code text} (UTF-8). */
  public static void writeText(Path target, String text, Configuration conf) throws IOException {
    write(target, text.getBytes(StandardCharsets.UTF_8), conf);
  }

  /** Replaces {@code target} with {@code bytes}. */
  public static void write(Path target, byte[] bytes, Configuration conf) throws IOException {
    FileSystem fs = target.getFileSystem(conf);
    if (!supportsAtomicRename(fs)) {
      try (FSDataOutputStream out = fs.create(target, true)) {
        out.write(bytes);
      }
      return;
    }
    Path tmp = new Path(target.getParent(), TMP_PREFIX + target.getName() + "-" + UUID.randomUUID());
    try {
      try (FSDataOutputStream out = fs.create(tmp, false)) {
        out.write(bytes);
        sync(out);
      }
      replace(tmp, target, conf);
    } finally {
      if (fs.exists(tmp)) {
        fs.delete(tmp, false);
      }
    }
  }

  /** Renames {@code from} over {@code to} (replacing it) in one step. */
  public static void replace(Path from, Path to, Configuration conf) throws IOException {
    try {
      FileContext fc = FileContext.getFileContext(to.toUri(), conf);
      fc.rename(from, to, Options.Rename.OVERWRITE);
    } catch (UnsupportedFileSystemException e) {
      FileSystem fs = to.getFileSystem(conf);
      if (!fs.rename(from, to)) {
        throw new IOException("rename " + from + " -> " + to + " failed (" + fs.getUri().getScheme()
            + " cannot replace a file in one step)");
      }
    }
  }

  /** Flushes {@code out} to durable storage where the stream can (HDFS hsync, local fsync), else flushes it. */
  public static void sync(FSDataOutputStream out) throws IOException {
    if (out.hasCapability(StreamCapabilities.HSYNC)) {
      out.hsync();
    } else {
      out.hflush();
    }
  }

  /** The whole of a small file as UTF-8 text. */
  public static String readText(Path file, Configuration conf) throws IOException {
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** Object stores (s3a:, gs:, abfs: blobs) rename by copying: a single PUT of the target is their atomic write. */
  static boolean supportsAtomicRename(FileSystem fs) {
    String scheme = fs.getUri().getScheme();
    return !EnumSet.of(Store.S3A, Store.S3N, Store.GS, Store.WASB).stream()
        .anyMatch(s -> s.name().equalsIgnoreCase(scheme));
  }

  private enum Store { S3A, S3N, GS, WASB }
}
