package dev.sparkgpt.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A local file memory-mapped lazily in fixed-size chunks, since one mapping cannot exceed 2 GiB. */
final class MappedFileSource implements ByteSource {
  static final int DEFAULT_CHUNK_BYTES = 1 << 30;

  private final Path file;
  private final FileChannel channel;
  private final long length;
  private final int chunkBytes;
  private final MappedByteBuffer[] chunks;
  private volatile boolean closed;

  private MappedFileSource(Path file, FileChannel channel, long length, int chunkBytes) {
    this.file = file;
    this.channel = channel;
    this.length = length;
    this.chunkBytes = chunkBytes;
    this.chunks = new MappedByteBuffer[(int) ((length + chunkBytes - 1) / chunkBytes)];
  }

  /** Opens {@code file}; {@code chunkBytes} is a parameter so tests can cross chunk borders with small files. */
  static MappedFileSource open(Path file, int chunkBytes) throws IOException {
    if (chunkBytes <= 0) {
      throw new IllegalArgumentException("chunkBytes must be positive, got " + chunkBytes);
    }
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new MappedFileSource(file, channel, channel.size(), chunkBytes);
    } catch (RuntimeException e) {
      channel.close();
      throw e;
    }
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
    if (closed) {
      throw new IOException(file + " is closed");
    }
    if (position < 0 || count < 0 || position > length - count) {
      throw new EOFException(file + ": bytes [" + position + ", " + (position + count) + ") lie outside the "
          + length + "-byte file");
    }
    if (count == 0) {
      return ByteBuffer.allocate(0); // also where position == length falls past the last chunk
    }
    int index = (int) (position / chunkBytes);
    int offset = (int) (position % chunkBytes);
    if (offset + (long) count <= chunkBytes) {
      return chunk(index).slice(offset, count);
    }
    // The range straddles a chunk border: copy the pieces into one buffer.
    ByteBuffer copy = ByteBuffer.allocate(count);
    while (copy.hasRemaining()) {
      ByteBuffer piece = chunk(index);
      int take = Math.min(copy.remaining(), piece.capacity() - offset);
      copy.put(piece.slice(offset, take));
      index++;
      offset = 0;
    }
    return copy.flip();
  }

  private synchronized MappedByteBuffer chunk(int index) throws IOException {
    if (chunks[index] == null) {
      long start = (long) index * chunkBytes;
      long size = Math.min(chunkBytes, length - start);
      chunks[index] = channel.map(FileChannel.MapMode.READ_ONLY, start, size);
    }
    return chunks[index];
  }

  @Override
  public void close() throws IOException {
    // Mappings stay valid until garbage-collected; closing the channel only stops new ones.
    closed = true;
    channel.close();
  }
}
