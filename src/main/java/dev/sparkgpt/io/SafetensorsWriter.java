package dev.sparkgpt.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.StreamCapabilities;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Collects named tensors and metadata, then writes one safetensors file: tensors sorted by name, header padded to
 * 8 bytes, data through a temp file in the target directory that is renamed into place only once complete.
 *
 * <pre>{@code
 * new SafetensorsWriter().putMetadata("format", "pt").add("wte.weight", wte, SafetensorsDtype.BF16).write(path);
 * }</pre>
 *
 * <p>{@code add} checks names, shapes and value ranges at once; only {@code write} touches the file system. Arrays
 * are kept by reference and encoded during {@code write}, one tensor at a time.
 */
public final class SafetensorsWriter {
  private static final int SCRATCH_BYTES = 1 << 20;

  /** One tensor to write; {@code values} is a float[], double[], int[], long[] or INDArray. */
  private record Pending(SafetensorsDtype dtype, long[] shape, Object values) {}

  private final Map<String, Pending> tensors = new TreeMap<>();
  private final Map<String, String> metadata = new TreeMap<>();

  /** Adds a {@code __metadata__} entry; returns this writer for chaining. */
  public SafetensorsWriter putMetadata(String key, String value) {
    metadata.put(Objects.requireNonNull(key, "metadata key"), Objects.requireNonNull(value, "metadata value"));
    return this;
  }

  /** Adds every entry of {@code entries} to {@code __metadata__}; returns this writer for chaining. */
  public SafetensorsWriter putAllMetadata(Map<String, String> entries) {
    entries.forEach(this::putMetadata);
    return this;
  }

  /** Adds an ND4J array in the dtype matching its own type (FLOAT as F32, ...). */
  public SafetensorsWriter add(String name, INDArray array) {
    return add(name, array, SafetensorsDtype.of(array.dataType()));
  }

  /** Adds an ND4J array of any order or view, stored row-major as {@code dtype}. */
  public SafetensorsWriter add(String name, INDArray array, SafetensorsDtype dtype) {
    Objects.requireNonNull(array, "array");
    DataType type = array.dataType();
    boolean fits = type.isFPType() ? dtype.isFloatingPoint()
        : (type.isIntType() || type == DataType.BOOL) && !dtype.isFloatingPoint();
    if (!fits) {
      throw new IllegalArgumentException("tensor \"" + name + "\": an ND4J " + type + " array cannot be stored as "
          + dtype + "; cast it first");
    }
    return put(name, dtype, array.shape(), array);
  }

  /** Adds row-major floats of {@code shape} as F32, F16, BF16 (rounded to nearest-even) or F64. */
  public SafetensorsWriter add(String name, float[] values, long[] shape, SafetensorsDtype dtype) {
    requireFloatingPoint(name, dtype, "float[]");
    return put(name, dtype, checkedShape(name, shape, values.length), values);
  }

  /** Adds row-major doubles of {@code shape} as F64, F32, F16 or BF16 (rounded to nearest-even once). */
  public SafetensorsWriter add(String name, double[] values, long[] shape, SafetensorsDtype dtype) {
    requireFloatingPoint(name, dtype, "double[]");
    return put(name, dtype, checkedShape(name, shape, values.length), values);
  }

  /** Adds row-major ints of {@code shape} as an integer dtype or BOOL; each value must fit the dtype. */
  public SafetensorsWriter add(String name, int[] values, long[] shape, SafetensorsDtype dtype) {
    requireInteger(name, dtype, "int[]");
    long[] checked = checkedShape(name, shape, values.length);
    long bad = TensorCodec.firstOutOfRange(values, dtype);
    if (bad >= 0) {
      throw outOfRange(name, dtype, bad, values[(int) bad]);
    }
    return put(name, dtype, checked, values);
  }

  /** Adds row-major longs of {@code shape} as an integer dtype or BOOL; each value must fit the dtype. */
  public SafetensorsWriter add(String name, long[] values, long[] shape, SafetensorsDtype dtype) {
    requireInteger(name, dtype, "long[]");
    long[] checked = checkedShape(name, shape, values.length);
    long bad = TensorCodec.firstOutOfRange(values, dtype);
    if (bad >= 0) {
      throw outOfRange(name, dtype, bad, values[(int) bad]);
    }
    return put(name, dtype, checked, values);
  }

  /** Writes a local file atomically: a temp file next to it, flushed to disk, then renamed over {@code file}. */
  public void write(Path file) {
    Path target = file.toAbsolutePath();
    Path temp = null;
    try {
      Files.createDirectories(target.getParent());
      // Not Files.createTempFile: its owner-only permissions would carry over to the checkpoint.
      temp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), SCRATCH_BYTES);
        writeTo(out);
        out.flush();
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
    } catch (IOException e) {
      throw new OutputException(file + ": could not write safetensors (" + e + ")", e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException suppressed) {
          // Reporting the write failure matters more than a leftover hidden temp file.
        }
      }
    }
  }

  /**
   * Writes through a Hadoop file system: a hidden temp file in the target directory, then a rename. Where rename
   * cannot overwrite (HDFS, S3A) an existing {@code file} is deleted just before, so a crash leaves no file or the
   * complete new one under the final name, never a partial one.
   */
  public void write(org.apache.hadoop.fs.Path file, Configuration conf) {
    org.apache.hadoop.fs.Path temp = new org.apache.hadoop.fs.Path(file.getParent(),
        "." + file.getName() + "." + UUID.randomUUID() + ".tmp");
    FileSystem fs = null;
    boolean moved = false;
    try {
      fs = file.getFileSystem(conf);
      try (FSDataOutputStream out = fs.create(temp, false)) {
        writeTo(new BufferedOutputStream(out, SCRATCH_BYTES));
        if (out.hasCapability(StreamCapabilities.HSYNC)) {
          out.hsync(); // HDFS: durable before the rename; S3A may refuse hsync but persists on close
        }
      }
      if (fs.exists(file) && !fs.delete(file, false)) {
        throw new IOException("could not replace the existing file");
      }
      if (!fs.rename(temp, file)) {
        throw new IOException("could not rename " + temp.getName() + " into place");
      }
      moved = true;
    } catch (IOException e) {
      throw new OutputException(file + ": could not write safetensors (" + e.getMessage() + ")", e);
    } finally {
      if (!moved && fs != null) {
        try {
          fs.delete(temp, false);
        } catch (IOException suppressed) {
          // Reporting the write failure matters more than a leftover hidden temp file.
        }
      }
    }
  }

  /** Writes the whole file (length prefix, header, data) to {@code out} and flushes it; does not close it. */
  public void writeTo(OutputStream out) throws IOException {
    List<TensorInfo> layout = new ArrayList<>();
    long offset = 0;
    for (Map.Entry<String, Pending> entry : tensors.entrySet()) {
      Pending tensor = entry.getValue();
      long end = offset + byteLength(tensor);
      layout.add(new TensorInfo(entry.getKey(), tensor.dtype(), tensor.shape(), offset, end));
      offset = end;
    }
    byte[] header = SafetensorsHeader.render(layout, metadata);
    if (header.length > SafetensorsHeader.MAX_HEADER_BYTES) {
      throw new IOException("header would be " + header.length + " bytes, above the "
          + SafetensorsHeader.MAX_HEADER_BYTES + " readers accept; split the tensors into shards");
    }
    ByteBuffer scratch = ByteBuffer.allocate(SCRATCH_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    scratch.putLong(header.length);
    out.write(scratch.array(), 0, scratch.position());
    scratch.clear();
    out.write(header);
    for (Map.Entry<String, Pending> entry : tensors.entrySet()) {
      Pending tensor = entry.getValue();
      TensorCodec.encode(javaValues(entry.getKey(), tensor), tensor.dtype(), out, scratch);
    }
    out.flush();
  }

  /** Names of the tensors added so far, in the order they will be written. */
  public Set<String> names() {
    return Collections.unmodifiableSet(tensors.keySet());
  }

  private SafetensorsWriter put(String name, SafetensorsDtype dtype, long[] shape, Object values) {
    Objects.requireNonNull(name, "tensor name");
    Objects.requireNonNull(dtype, "dtype");
    if (name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
      throw new IllegalArgumentException("tensor name \"" + name + "\" is reserved or empty");
    }
    if (tensors.containsKey(name)) {
      throw new IllegalArgumentException("tensor \"" + name + "\" was already added");
    }
    tensors.put(name, new Pending(dtype, shape.clone(), values));
    return this;
  }

  /** The values as a Java array; an INDArray is copied out here, in row-major order. */
  private static Object javaValues(String name, Pending tensor) throws IOException {
    if (!(tensor.values() instanceof INDArray array)) {
      return tensor.values();
    }
    if (array.isEmpty()) {
      return new long[0];
    }
    INDArray rowMajor = array.ordering() == 'c' && !array.isView() && array.data().length() == array.length()
        ? array : array.dup('c');
    DataType type = array.dataType();
    if (type == DataType.DOUBLE) {
      return rowMajor.data().asDouble();
    }
    if (type.isFPType()) {
      return rowMajor.data().asFloat();
    }
    long[] longs = rowMajor.data().asLong();
    long bad = TensorCodec.firstOutOfRange(longs, tensor.dtype());
    if (bad >= 0) {
      throw new IOException("tensor \"" + name + "\" element " + bad + " holds " + longs[(int) bad]
          + ", outside the range of " + tensor.dtype());
    }
    return longs;
  }

  private static long byteLength(Pending tensor) {
    long count = 1;
    for (long dim : tensor.shape()) {
      count = Math.multiplyExact(count, dim);
    }
    return Math.multiplyExact(count, tensor.dtype().byteSize());
  }

  private static long[] checkedShape(String name, long[] shape, int valueCount) {
    Objects.requireNonNull(shape, "shape");
    long count = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("tensor \"" + name + "\": shape " + Arrays.toString(shape)
            + " has a negative dimension");
      }
      count = Math.multiplyExact(count, dim);
    }
    if (count != valueCount) {
      throw new IllegalArgumentException("tensor \"" + name + "\": shape " + Arrays.toString(shape) + " holds "
          + count + " elements but " + valueCount + " values were given");
    }
    return shape;
  }

  private static void requireFloatingPoint(String name, SafetensorsDtype dtype, String source) {
    if (!dtype.isFloatingPoint()) {
      throw new IllegalArgumentException("tensor \"" + name + "\": " + source + " values cannot be stored as "
          + dtype + "; use F64, F32, F16 or BF16, or pass int[]/long[]");
    }
  }

  private static void requireInteger(String name, SafetensorsDtype dtype, String source) {
    if (dtype.isFloatingPoint()) {
      throw new IllegalArgumentException("tensor \"" + name + "\": " + source + " values cannot be stored as "
          + dtype + "; use I64, I32, I16, I8, U8 or BOOL, or pass float[]/double[]");
    }
  }

  private static IllegalArgumentException outOfRange(String name, SafetensorsDtype dtype, long index, long value) {
    return new IllegalArgumentException("tensor \"" + name + "\": element " + index + " is " + value
        + ", outside the range of " + dtype);
  }
}
