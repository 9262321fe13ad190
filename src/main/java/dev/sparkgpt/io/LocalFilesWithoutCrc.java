package dev.sparkgpt.io;

import java.io.IOException;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.Progressable;

/**
 * Hadoop's local file system without its {@code .crc} side files: nothing hidden is written beside outputs, and a
 * file edited by hand (a manifest) still reads. It stays a {@link LocalFileSystem}, which Hadoop's own code expects
 * of {@code FileSystem.getLocal}: S3A buffers its uploads on local disk through it, and failed with a
 * ClassCastException while {@code fs.file.impl} was the raw file system. Parquet and safetensors carry their own
 * checks; shards also have their SHA-256 in the manifest.
 */
public final class LocalFilesWithoutCrc extends LocalFileSystem {
  @Override
  public void initialize(URI name, Configuration conf) throws IOException {
    super.initialize(name, conf);
    setWriteChecksum(false);
    setVerifyChecksum(false);
  }

  /** Appends through the raw file system (the checksummed one refuses appends). */
  @Override
  public FSDataOutputStream append(Path f, int bufferSize, Progressable progress) throws IOException {
    return getRawFileSystem().append(f, bufferSize, progress);
  }
}
