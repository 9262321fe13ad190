package dev.sparkgpt.data;

import com.github.luben.zstd.ZstdInputStream;
import dev.sparkgpt.io.InputException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Opens compressed inputs as streams: gzip (JDK), zstd (zstd-jni), bzip2 (commons-compress) and xz (XZ for Java),
 * the libraries Spark itself ships, so nothing new lands on a cluster. Hadoop's codecs are not used: its zstd needs
 * the native libhadoop, which Spark's shaded Hadoop client lacks.
 */
final class Decompress {
  private Decompress() {}

  static InputStream open(InputStream raw, SourceFile file) throws IOException {
    try {
      return switch (file.compression()) {
        case "gz" -> new GZIPInputStream(raw, 1 << 16);
        case "zst" -> new ZstdInputStream(new java.io.BufferedInputStream(raw, 1 << 16));
        case "bz2" -> new BZip2CompressorInputStream(new java.io.BufferedInputStream(raw, 1 << 16), true);
        case "xz" -> new XZInputStream(new java.io.BufferedInputStream(raw, 1 << 16));
        default -> raw;
      };
    } catch (IOException e) {
      raw.close();
      throw e;
    }
  }

  /** One message for a file that cannot be read, naming it and, for broken compressed data, the codec. */
  static InputException explain(SourceFile file, IOException e) {
    String codec = file.compression();
    if (codec != null && (e instanceof ZipException || e instanceof EOFException
        || e.getClass().getName().startsWith("org.tukaani") || e.getClass().getName().contains("zstd")
        || e.getMessage() != null && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("stream"))) {
      String name = "gz".equals(codec) ? "gzip" : codec;
      return new InputException(file.path() + ": unreadable " + name + " data (" + e.getMessage()
          + "). Fix: re-compress the file or remove it from the input", e);
    }
    return new InputException(file.path() + ": cannot read: " + e.getMessage(), e);
  }
}
