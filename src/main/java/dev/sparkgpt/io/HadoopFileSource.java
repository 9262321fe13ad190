package dev.sparkgpt.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A file on any Hadoop file system, read with positioned reads so concurrent readers do not share a cursor. */
final class HadoopFileSource implements ByteSource {
  private final Path file;
  private final FSDataInputStream in;
  private final long length;

  private HadoopFileSource(Path file, FSDataInputStream in, long length) {
    this.file = file;
    this.in = in;
    this.length = length;
  }

  static HadoopFileSource open(Path file, Configuration conf) throws IOException {
    FileSystem fs = file.getFileSystem(conf);
    FileStatus status = fs.getFileStatus(file);
    if (status.isDirectory()) {
      throw new IOException(file + " is a directory, expected a file");
    }
    return new HadoopFileSource(file, fs.open(file), status.getLen());
  }

  @Override
  public String name() {
    return file.toString();
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public ByteBuffer read(long position, int count) throws IOException {
    byte[] bytes = new byte[count];
    in.readFully(position, bytes, 0, count);
    return ByteBuffer.wrap(bytes);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
