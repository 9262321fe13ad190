package dev.sparkgpt.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A sharded checkpoint read as one set of tensors: {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {tensor: shard file}}}) plus the shard files next to it.
 */
public final class ShardedSafetensors implements SafetensorsReader {
  private final String index;
  private final Map<String, String> metadata;
  private final Map<String, SafetensorsFile> shardOfTensor;
  private final List<SafetensorsFile> shards;

  private ShardedSafetensors(String index, Map<String, String> metadata, Map<String, SafetensorsFile> shardOfTensor,
      List<SafetensorsFile> shards) {
    this.index = index;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.shardOfTensor = Collections.unmodifiableMap(shardOfTensor);
    this.shards = List.copyOf(shards);
  }

  /** Where shard files live: a directory on the local disk or on a Hadoop file system. */
  private interface ShardLocation {
    boolean exists(String shard) throws IOException;

    SafetensorsFile open(String shard);
  }

  /** Opens a local index and every shard it names. */
  public static ShardedSafetensors open(Path indexFile) {
    byte[] json;
    try {
      long size = Files.size(indexFile);
      checkIndexSize(indexFile.toString(), size);
      json = Files.readAllBytes(indexFile);
    } catch (NoSuchFileException e) {
      throw new InputException(indexFile + ": no such file", e);
    } catch (IOException e) {
      throw new InputException(indexFile + ": could not read (" + e + ")", e);
    }
    Path directory = indexFile.toAbsolutePath().getParent();
    return open(indexFile.toString(), json, new ShardLocation() {
      @Override
      public boolean exists(String shard) {
        return Files.isRegularFile(directory.resolve(shard));
      }

      @Override
      public SafetensorsFile open(String shard) {
        return SafetensorsFile.open(directory.resolve(shard));
      }
    });
  }

  /** Opens an index on a Hadoop file system (hdfs:, s3a:, file:) and every shard it names. */
  public static ShardedSafetensors open(org.apache.hadoop.fs.Path indexFile, Configuration conf) {
    byte[] json;
    FileSystem fs;
    try {
      fs = indexFile.getFileSystem(conf);
      long size = fs.getFileStatus(indexFile).getLen();
      checkIndexSize(indexFile.toString(), size);
      json = new byte[(int) size];
      try (InputStream in = fs.open(indexFile)) {
        org.apache.hadoop.io.IOUtils.readFully(in, json, 0, json.length);
      }
    } catch (FileNotFoundException e) {
      throw new InputException(indexFile + ": no such file", e);
    } catch (IOException e) {
      throw new InputException(indexFile + ": could not read (" + e.getMessage() + ")", e);
    }
    org.apache.hadoop.fs.Path directory = indexFile.getParent();
    return open(indexFile.toString(), json, new ShardLocation() {
      @Override
      public boolean exists(String shard) throws IOException {
        return fs.isFile(new org.apache.hadoop.fs.Path(directory, shard));
      }

      @Override
      public SafetensorsFile open(String shard) {
        return SafetensorsFile.open(new org.apache.hadoop.fs.Path(directory, shard), conf);
      }
    });
  }

  private static void checkIndexSize(String index, long size) {
    if (size > SafetensorsHeader.MAX_HEADER_BYTES) {
      throw new SafetensorsFormatException(index + ": index is " + size + " bytes, expected at most "
          + SafetensorsHeader.MAX_HEADER_BYTES + "; is this really a shard index?");
    }
  }

  private static ShardedSafetensors open(String index, byte[] json, ShardLocation location) {
    JsonNode root;
    try {
      root = SafetensorsHeader.JSON.readTree(json);
    } catch (IOException e) {
      String detail = e instanceof JsonProcessingException p ? p.getOriginalMessage() : e.getMessage();
      throw new SafetensorsFormatException(index + ": index is not valid JSON: " + detail, e);
    }
    if (root == null || !root.isObject()) {
      throw new SafetensorsFormatException(index + ": index is not a JSON object");
    }
    Map<String, String> weightMap = parseWeightMap(index, root.get("weight_map"));
    Map<String, String> metadata = parseMetadata(index, root.get("metadata"));
    checkShardsExist(index, weightMap, location);

    Map<String, SafetensorsFile> byShardName = new TreeMap<>();
    try {
      for (String shard : new java.util.TreeSet<>(weightMap.values())) {
        byShardName.put(shard, location.open(shard));
      }
      Map<String, SafetensorsFile> shardOfTensor = new TreeMap<>();
      weightMap.forEach((tensor, shard) -> {
        SafetensorsFile file = byShardName.get(shard);
        if (!file.contains(tensor)) {
          throw new SafetensorsFormatException(index + ": weight_map puts tensor \"" + tensor + "\" in " + shard
              + " but " + file.source() + " holds no such tensor");
        }
        shardOfTensor.put(tensor, file);
      });
      return new ShardedSafetensors(index, metadata, shardOfTensor, new ArrayList<>(byShardName.values()));
    } catch (RuntimeException e) {
      byShardName.values().forEach(ShardedSafetensors::closeQuietly);
      throw e;
    }
  }

  private static Map<String, String> parseWeightMap(String index, JsonNode node) {
    if (node == null || !node.isObject()) {
      String found = node == null ? "missing" : node.getNodeType().toString();
      throw new SafetensorsFormatException(index + ": \"weight_map\" is " + found
          + ", expected an object mapping tensor names to shard files");
    }
    Map<String, String> weightMap = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      JsonNode shard = entry.getValue();
      if (!shard.isTextual() || !isPlainFileName(shard.textValue())) {
        throw new SafetensorsFormatException(index + ": weight_map maps tensor \"" + entry.getKey() + "\" to "
            + shard + ", expected the name of a file next to the index");
      }
      weightMap.put(entry.getKey(), shard.textValue());
    }
    return weightMap;
  }

  private static boolean isPlainFileName(String name) {
    return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
        && name.indexOf('\\') < 0;
  }

  /** Index metadata may hold numbers (e.g. {@code total_size}); they are kept as their JSON text. */
  private static Map<String, String> parseMetadata(String index, JsonNode node) {
    Map<String, String> metadata = new TreeMap<>();
    if (node == null || node.isNull()) {
      return metadata;
    }
    if (!node.isObject()) {
      throw new SafetensorsFormatException(index + ": \"metadata\" is " + node.getNodeType() + ", expected an object");
    }
    node.fields().forEachRemaining(e ->
        metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString()));
    return metadata;
  }

  /** Fails once, listing every missing shard with one tensor that needs it. */
  private static void checkShardsExist(String index, Map<String, String> weightMap, ShardLocation location) {
    Map<String, String> missing = new TreeMap<>();
    Map<String, Boolean> checked = new TreeMap<>();
    try {
      for (Map.Entry<String, String> entry : weightMap.entrySet()) {
        Boolean exists = checked.get(entry.getValue());
        if (exists == null) {
          exists = location.exists(entry.getValue());
          checked.put(entry.getValue(), exists);
        }
        if (!exists) {
          missing.putIfAbsent(entry.getValue(), entry.getKey());
        }
      }
    } catch (IOException e) {
      throw new InputException(index + ": could not check its shard files (" + e.getMessage() + ")", e);
    }
    if (!missing.isEmpty()) {
      StringBuilder list = new StringBuilder();
      missing.forEach((shard, tensor) -> list.append(list.length() == 0 ? "" : ", ")
          .append(shard).append(" (needed for tensor \"").append(tensor).append("\")"));
      throw new InputException(index + ": " + missing.size() + " of " + checked.size()
          + " shard files named in weight_map are missing next to the index: " + list);
    }
  }

  @Override
  public String source() {
    return index;
  }

  @Override
  public Set<String> names() {
    return shardOfTensor.keySet();
  }

  /** The shard file that holds {@code name}. */
  public String shardOf(String name) {
    return shard(name).source();
  }

  @Override
  public TensorInfo info(String name) {
    return shard(name).info(name);
  }

  @Override
  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public float[] readFloats(String name) {
    return shard(name).readFloats(name);
  }

  @Override
  public float[] readFloats(String name, long fromElement, int count) {
    return shard(name).readFloats(name, fromElement, count);
  }

  @Override
  public double[] readDoubles(String name) {
    return shard(name).readDoubles(name);
  }

  @Override
  public int[] readInts(String name) {
    return shard(name).readInts(name);
  }

  @Override
  public long[] readLongs(String name) {
    return shard(name).readLongs(name);
  }

  @Override
  public INDArray readArray(String name, DataType dataType) {
    return shard(name).readArray(name, dataType);
  }

  @Override
  public void close() {
    RuntimeException first = null;
    for (SafetensorsFile shard : shards) {
      try {
        shard.close();
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private SafetensorsFile shard(String name) {
    SafetensorsFile shard = shardOfTensor.get(name);
    if (shard == null) {
      throw new SafetensorsFormatException(index + ": weight_map has no tensor \"" + name + "\"; it maps "
          + shardOfTensor.size() + " tensors across " + shards.size() + " shards");
    }
    return shard;
  }

  private static void closeQuietly(SafetensorsFile file) {
    try {
      file.close();
    } catch (RuntimeException suppressed) {
      // The original failure is the one worth reporting.
    }
  }
}
