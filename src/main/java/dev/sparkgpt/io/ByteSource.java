package dev.sparkgpt.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;

/**
 * Random-access bytes of one file, the seam between the safetensors parser and where the bytes live: a local file
 * (memory-mapped), a Hadoop file system (HDFS, S3A, file:) or a byte array. Reads are safe from several threads.
 */
public interface ByteSource extends Closeable {

  /** The file as it should appear in messages, e.g. {@code /ckpt/model.safetensors}. */
  String name();

  /** Size in bytes. */
  long length();

  /**
   * Exactly {@code length} bytes starting at {@code position}, as a buffer with position 0 and limit {@code length};
   * may be a read-only view, so copy it before keeping it past {@link #close()}.
   */
  ByteBuffer read(long position, int length) throws IOException;

  /** Opens a local file, memory-mapped in chunks of at most 1 GiB so files past 2 GiB work. */
  static ByteSource local(Path file) throws IOException {
    return MappedFileSource.open(file, MappedFileSource.DEFAULT_CHUNK_BYTES);
  }

  /** Opens a file through Hadoop's FileSystem API (hdfs:, s3a:, file:, ...) using positioned reads. */
  static ByteSource hadoop(org.apache.hadoop.fs.Path file, Configuration conf) throws IOException {
    return HadoopFileSource.open(file, conf);
  }

  /** Wraps bytes already in memory, e.g. from Spark's {@code binaryFiles}. */
  static ByteSource ofBytes(String name, byte[] bytes) {
    Objects.requireNonNull(name, "name");
    ByteBuffer all = ByteBuffer.wrap(bytes.clone()).asReadOnlyBuffer();
    return new ByteSource() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public long length() {
        return all.capacity();
      }

      @Override
      public ByteBuffer read(long position, int length) throws IOException {
        if (position < 0 || length < 0 || position + length > all.capacity()) {
          throw new java.io.EOFException(name + ": bytes [" + position + ", " + (position + length)
              + ") lie outside the " + all.capacity() + " bytes held");
        }
        return all.slice((int) position, length);
      }

      @Override
      public void close() {}
    };
  }
}
