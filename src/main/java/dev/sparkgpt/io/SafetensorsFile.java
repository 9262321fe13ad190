package dev.sparkgpt.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One safetensors file opened for reading: the header is read and fully validated by {@code open}, tensors are
 * decoded on request in 8 MiB chunks straight from the mapping (local) or positioned reads (Hadoop).
 */
public final class SafetensorsFile implements SafetensorsReader {
  /** Largest Java array the JVM reliably allocates. */
  static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
  private static final int CHUNK_BYTES = 8 << 20;

  private final ByteSource source;
  private final long dataStart;
  private final SafetensorsHeader header;

  private SafetensorsFile(ByteSource source, long dataStart, SafetensorsHeader header) {
    this.source = source;
    this.dataStart = dataStart;
    this.header = header;
  }

  /** Opens a local file, memory-mapped. */
  public static SafetensorsFile open(Path file) {
    if (Files.isDirectory(file)) {
      throw new InputException(file + ": is a directory, expected a .safetensors file");
    }
    ByteSource source;
    try {
      source = ByteSource.local(file);
    } catch (NoSuchFileException e) {
      throw new InputException(file + ": no such file", e);
    } catch (IOException e) {
      throw new InputException(file + ": could not open (" + e + ")", e);
    }
    return open(source);
  }

  /** Opens a file on a Hadoop file system (hdfs:, s3a:, file:) with a default Configuration. */
  public static SafetensorsFile open(org.apache.hadoop.fs.Path file) {
    return open(file, HadoopConf.create());
  }

  /** Opens a file on a Hadoop file system (hdfs:, s3a:, file:). */
  public static SafetensorsFile open(org.apache.hadoop.fs.Path file, Configuration conf) {
    ByteSource source;
    try {
      source = ByteSource.hadoop(file, conf);
    } catch (FileNotFoundException e) {
      throw new InputException(file + ": no such file", e);
    } catch (IOException e) {
      throw new InputException(file + ": could not open (" + e.getMessage() + ")", e);
    }
    return open(source);
  }

  /** Reads and validates the header of {@code source}, which the returned file owns (closed on failure too). */
  public static SafetensorsFile open(ByteSource source) {
    try {
      String file = source.name();
      long fileSize = source.length();
      if (fileSize < SafetensorsHeader.LENGTH_PREFIX_BYTES) {
        throw new SafetensorsFormatException(file + ": file is " + fileSize
            + " bytes, shorter than the 8-byte header length prefix");
      }
      long prefix = source.read(0, SafetensorsHeader.LENGTH_PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      int headerLength = SafetensorsHeader.checkHeaderLength(file, prefix, fileSize);
      long dataStart = SafetensorsHeader.LENGTH_PREFIX_BYTES + (long) headerLength;
      ByteBuffer headerBytes = source.read(SafetensorsHeader.LENGTH_PREFIX_BYTES, headerLength);
      SafetensorsHeader header = SafetensorsHeader.parse(file, headerBytes, fileSize - dataStart);
      return new SafetensorsFile(source, dataStart, header);
    } catch (IOException e) {
      closeQuietly(source);
      throw new InputException(source.name() + ": could not read the header (" + e.getMessage() + ")", e);
    } catch (RuntimeException e) {
      closeQuietly(source);
      throw e;
    }
  }

  @Override
  public String source() {
    return source.name();
  }

  @Override
  public Set<String> names() {
    return header.tensors().keySet();
  }

  /** True when the file holds a tensor of this name. */
  public boolean contains(String name) {
    return header.tensors().containsKey(name);
  }

  @Override
  public TensorInfo info(String name) {
    TensorInfo tensor = header.tensors().get(name);
    if (tensor == null) {
      String some = names().stream().limit(8).collect(Collectors.joining(", "));
      throw new SafetensorsFormatException(source() + ": no tensor \"" + name + "\"; the file holds "
          + names().size() + " tensors" + (names().isEmpty() ? "" : ": " + some + (names().size() > 8 ? ", ..." : "")));
    }
    return tensor;
  }

  @Override
  public Map<String, String> metadata() {
    return header.metadata();
  }

  @Override
  public float[] readFloats(String name) {
    TensorInfo tensor = info(name);
    return readFloats(name, 0, arrayLength(tensor));
  }

  @Override
  public float[] readFloats(String name, long fromElement, int count) {
    TensorInfo tensor = info(name);
    checkSlice(tensor, fromElement, count);
    float[] values = new float[count];
    readChunks(tensor, fromElement, count, (bytes, offset, n, first) ->
        TensorCodec.decodeFloats(bytes, tensor.dtype(), values, offset, n));
    return values;
  }

  @Override
  public double[] readDoubles(String name) {
    TensorInfo tensor = info(name);
    double[] values = new double[arrayLength(tensor)];
    readChunks(tensor, 0, values.length, (bytes, offset, n, first) ->
        TensorCodec.decodeDoubles(bytes, tensor.dtype(), values, offset, n));
    return values;
  }

  @Override
  public int[] readInts(String name) {
    TensorInfo tensor = requireInteger(info(name), "readInts");
    int[] values = new int[arrayLength(tensor)];
    readChunks(tensor, 0, values.length, (bytes, offset, n, first) -> {
      int bad = TensorCodec.decodeInts(bytes, tensor.dtype(), values, offset, n);
      if (bad >= 0) {
        throw new SafetensorsFormatException(source() + ": tensor \"" + name + "\" element " + (first + bad)
            + " holds " + bytes.getLong(8 * bad) + ", outside the int range; use readLongs");
      }
    });
    return values;
  }

  @Override
  public long[] readLongs(String name) {
    TensorInfo tensor = requireInteger(info(name), "readLongs");
    long[] values = new long[arrayLength(tensor)];
    readChunks(tensor, 0, values.length, (bytes, offset, n, first) ->
        TensorCodec.decodeLongs(bytes, tensor.dtype(), values, offset, n));
    return values;
  }

  @Override
  public INDArray readArray(String name, DataType dataType) {
    TensorInfo tensor = info(name);
    long[] shape = tensor.shape();
    return switch (dataType) {
      case DOUBLE -> DirectArrays.doubles(readDoubles(name), shape);
      case FLOAT -> DirectArrays.floats(readFloats(name), 0, shape);
      // Round once in Java, then let ND4J's cast copy values it can represent exactly: ND4J's own
      // float[] -> HALF path does not round to nearest-even (readArrayRoundsF32ToHalfToNearestEven).
      case HALF, BFLOAT16 -> Nd4j.create(valuesRoundedTo(tensor, dataType), shape, DataType.FLOAT).castTo(dataType);
      case LONG -> Nd4j.create(readLongs(name), shape, DataType.LONG);
      case INT -> Nd4j.create(readInts(name), shape, DataType.INT);
      case BOOL -> Nd4j.create(readBooleans(tensor), shape, DataType.BOOL);
      default -> throw new IllegalArgumentException("readArray supports DOUBLE, FLOAT, HALF, BFLOAT16, LONG, INT "
          + "and BOOL, not " + dataType + " (tensor \"" + name + "\" in " + source() + ")");
    };
  }

  /** Floats that HALF or BFLOAT16 represent exactly, each rounded once from the stored value. */
  private float[] valuesRoundedTo(TensorInfo tensor, DataType target) {
    boolean half = target == DataType.HALF;
    if (tensor.dtype() == SafetensorsDtype.F64) {
      double[] doubles = readDoubles(tensor.name());
      float[] rounded = new float[doubles.length];
      for (int i = 0; i < doubles.length; i++) {
        rounded[i] = half ? HalfPrecision.halfToFloat(HalfPrecision.doubleToHalf(doubles[i]))
            : HalfPrecision.bfloat16ToFloat(HalfPrecision.doubleToBfloat16(doubles[i]));
      }
      return rounded;
    }
    float[] values = readFloats(tensor.name());
    for (int i = 0; i < values.length; i++) {
      values[i] = half ? HalfPrecision.halfToFloat(HalfPrecision.floatToHalf(values[i]))
          : HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBfloat16(values[i]));
    }
    return values;
  }

  private boolean[] readBooleans(TensorInfo tensor) {
    if (tensor.dtype() != SafetensorsDtype.BOOL) {
      throw new SafetensorsFormatException(source() + ": tensor \"" + tensor.name() + "\" holds " + tensor.dtype()
          + ", expected BOOL for a BOOL array");
    }
    int[] ints = readInts(tensor.name());
    boolean[] values = new boolean[ints.length];
    for (int i = 0; i < ints.length; i++) {
      values[i] = ints[i] != 0;
    }
    return values;
  }

  @Override
  public void close() {
    try {
      source.close();
    } catch (IOException e) {
      throw new InputException(source() + ": could not close (" + e.getMessage() + ")", e);
    }
  }

  @Override
  public String toString() {
    return "SafetensorsFile[" + source() + ", " + names().size() + " tensors]";
  }

  /** Receives one decoded chunk: little-endian bytes of {@code count} elements for array slots from {@code offset}. */
  private interface ChunkDecoder {
    void decode(ByteBuffer bytes, int offset, int count, long firstElement);
  }

  private void readChunks(TensorInfo tensor, long fromElement, int count, ChunkDecoder decoder) {
    int elementBytes = tensor.dtype().byteSize();
    int perChunk = CHUNK_BYTES / elementBytes;
    for (int done = 0; done < count; ) {
      int n = Math.min(perChunk, count - done);
      long position = dataStart + tensor.dataBegin() + (fromElement + done) * elementBytes;
      ByteBuffer bytes;
      try {
        bytes = source.read(position, n * elementBytes).order(ByteOrder.LITTLE_ENDIAN);
      } catch (IOException e) {
        throw new InputException(source() + ": could not read tensor \"" + tensor.name() + "\" at byte "
            + position + " (" + e.getMessage() + ")", e);
      }
      decoder.decode(bytes, done, n, fromElement + done);
      done += n;
    }
  }

  private int arrayLength(TensorInfo tensor) {
    long count = tensor.elementCount();
    if (count > MAX_ARRAY_LENGTH) {
      throw new SafetensorsFormatException(source() + ": tensor \"" + tensor.name() + "\" " + tensor.dtype() + " "
          + java.util.Arrays.toString(tensor.shape()) + " has " + count + " elements, more than one Java array holds ("
          + MAX_ARRAY_LENGTH + "); read it in slices with readFloats(name, fromElement, count)");
    }
    return (int) count;
  }

  private void checkSlice(TensorInfo tensor, long fromElement, int count) {
    if (fromElement < 0 || count < 0 || fromElement > tensor.elementCount() - count) {
      throw new IndexOutOfBoundsException(source() + ": tensor \"" + tensor.name() + "\" has "
          + tensor.elementCount() + " elements; cannot read " + count + " from element " + fromElement);
    }
  }

  private TensorInfo requireInteger(TensorInfo tensor, String method) {
    if (tensor.dtype().isFloatingPoint()) {
      throw new SafetensorsFormatException(source() + ": tensor \"" + tensor.name() + "\" holds "
          + tensor.dtype() + ", expected an integer dtype (I64, I32, I16, I8, U8, BOOL) for " + method
          + "; use readFloats or readDoubles");
    }
    return tensor;
  }

  private static void closeQuietly(ByteSource source) {
    try {
      source.close();
    } catch (IOException | RuntimeException suppressed) {
      // The original failure is the one worth reporting.
    }
  }
}
