package dev.sparkgpt.model;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Activation and scratch arrays kept from one step to the next, by name. Fresh off-heap memory is what made the
 * first version slow: allocating a [512, 3072] float32 array took 30–45 ms on this machine (page faults on first
 * touch; gemm into it took 15), so layers ask the pool instead of allocating. A key keeps its largest buffer and
 * smaller requests get a c-order view of its start, so alternating shapes (training, eval, generation) allocate
 * nothing after the largest.
 */
final class BufferPool {
  private final Map<String, INDArray> buffers = new HashMap<>();

  /** A c-order array of {@code shape} for {@code key}; its contents are whatever the key's last user left. */
  INDArray get(String key, DataType dataType, long... shape) {
    long length = 1;
    for (long size : shape) {
      length *= size;
    }
    INDArray buffer = buffers.get(key);
    if (buffer == null || buffer.dataType() != dataType || buffer.length() < length) {
      buffer = Nd4j.createUninitialized(dataType, Math.max(length, buffer == null ? 0 : buffer.length()));
      buffers.put(key, buffer);
    }
    return buffer.length() == length ? buffer.reshape(shape)
        : buffer.get(NDArrayIndex.interval(0, length)).reshape(shape);
  }

  /** Bytes held. */
  long bytes() {
    return buffers.values().stream().mapToLong(b -> b.length() * b.dataType().width()).sum();
  }
}
