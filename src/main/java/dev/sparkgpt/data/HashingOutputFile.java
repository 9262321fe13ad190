package dev.sparkgpt.data;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;

/**
 * A Parquet {@link OutputFile} that computes the SHA-256 and the length of the bytes Parquet writes through it, as
 * they pass: a shard's checksum for the manifest without reading the file back.
 */
final class HashingOutputFile implements OutputFile {
  private final OutputFile target;
  private final MessageDigest digest;
  private long length;

  HashingOutputFile(OutputFile target) {
    this.target = target;
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SHA-256 in hex of everything written (call once, after the stream is closed). */
  String sha256() {
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Bytes written. */
  long length() {
    return length;
  }

  @Override
  public PositionOutputStream create(long blockSize) throws IOException {
    return new Hashed(target.create(blockSize));
  }

  @Override
  public PositionOutputStream createOrOverwrite(long blockSize) throws IOException {
    return new Hashed(target.createOrOverwrite(blockSize));
  }

  @Override
  public boolean supportsBlockSize() {
    return target.supportsBlockSize();
  }

  @Override
  public long defaultBlockSize() {
    return target.defaultBlockSize();
  }

  @Override
  public String getPath() {
    return target.getPath();
  }

  private final class Hashed extends PositionOutputStream {
    private final PositionOutputStream out;

    Hashed(PositionOutputStream out) {
      this.out = out;
    }

    @Override
    public long getPos() throws IOException {
      return out.getPos();
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      digest.update((byte) b);
      length++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      digest.update(b, off, len);
      length += len;
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}
