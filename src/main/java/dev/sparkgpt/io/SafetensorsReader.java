package dev.sparkgpt.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Named tensors of a checkpoint, from one safetensors file or a sharded set behind an index; the first step of
 * loading weights. Every failure is a {@link SafetensorsFormatException} or {@link InputException} naming the file.
 */
public interface SafetensorsReader extends Closeable {
  /** File name Hugging Face gives a single-file checkpoint. */
  String MODEL_FILE = "model.safetensors";
  /** File name Hugging Face gives the index of a sharded checkpoint. */
  String INDEX_FILE = "model.safetensors.index.json";

  /** The file (or index) these tensors come from, as messages name it. */
  String source();

  /** Tensor names in sorted order. */
  Set<String> names();

  /** Dtype, shape and byte range of one tensor; fails naming the file when there is no such tensor. */
  TensorInfo info(String name);

  /** The header's {@code __metadata__} (or the index's {@code metadata}); empty when absent. */
  Map<String, String> metadata();

  /** All elements in row-major order, converted to float (F64 rounds to nearest; integers widen). */
  float[] readFloats(String name);

  /** Elements {@code [fromElement, fromElement + count)} in row-major order, for tensors too big for one array. */
  float[] readFloats(String name, long fromElement, int count);

  /** All elements in row-major order, converted exactly to double. */
  double[] readDoubles(String name);

  /** All elements of an integer or BOOL tensor; fails on a floating-point tensor or an I64 value outside int. */
  int[] readInts(String name);

  /** All elements of an integer or BOOL tensor. */
  long[] readLongs(String name);

  /**
   * A c-order array of the tensor's shape in {@code dataType}: DOUBLE, FLOAT, HALF or BFLOAT16 from any dtype
   * (narrowing rounds to nearest-even once), LONG or INT from integer dtypes, BOOL from BOOL.
   */
  INDArray readArray(String name, DataType dataType);

  /** A c-order array in the ND4J type matching the stored dtype (I16, I8 and U8 become INT). */
  default INDArray readArray(String name) {
    DataType type = info(name).dtype().nd4jType();
    boolean narrowInteger = type == DataType.SHORT || type == DataType.BYTE || type == DataType.UBYTE;
    return readArray(name, narrowInteger ? DataType.INT : type);
  }

  /** Releases the file handles; arrays already returned stay valid. */
  @Override
  void close();

  /**
   * Opens a local checkpoint: a {@code .safetensors} file, a {@code *.index.json} shard index, or a directory
   * holding {@value #INDEX_FILE} or {@value #MODEL_FILE}.
   */
  static SafetensorsReader open(Path path) {
    Path file = path;
    if (Files.isDirectory(path)) {
      file = path.resolve(INDEX_FILE);
      if (!Files.exists(file)) {
        file = path.resolve(MODEL_FILE);
      }
      if (!Files.exists(file)) {
        throw new InputException(path + ": directory holds neither " + INDEX_FILE + " nor " + MODEL_FILE);
      }
    }
    return file.getFileName().toString().endsWith(".index.json")
        ? ShardedSafetensors.open(file)
        : SafetensorsFile.open(file);
  }

  /** As {@link #open(Path)}, for a checkpoint on a Hadoop file system (hdfs:, s3a:, file:). */
  static SafetensorsReader open(org.apache.hadoop.fs.Path path, Configuration conf) {
    org.apache.hadoop.fs.Path file = path;
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (fs.getFileStatus(path).isDirectory()) {
        file = new org.apache.hadoop.fs.Path(path, INDEX_FILE);
        if (!fs.exists(file)) {
          file = new org.apache.hadoop.fs.Path(path, MODEL_FILE);
        }
        if (!fs.exists(file)) {
          throw new InputException(path + ": directory holds neither " + INDEX_FILE + " nor " + MODEL_FILE);
        }
      }
    } catch (java.io.FileNotFoundException e) {
      throw new InputException(path + ": no such file or directory", e);
    } catch (IOException e) {
      throw new InputException(path + ": could not inspect (" + e.getMessage() + ")", e);
    }
    return file.getName().endsWith(".index.json")
        ? ShardedSafetensors.open(file, conf)
        : SafetensorsFile.open(file, conf);
  }
}
