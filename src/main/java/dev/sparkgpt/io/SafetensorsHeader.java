package dev.sparkgpt.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON header of a safetensors file: parsing with every check made before any tensor is allocated, and
 * rendering for the writer. Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data buffer.
 */
final class SafetensorsHeader {
  /** Bytes of the little-endian u64 that precedes the JSON header. */
  static final int LENGTH_PREFIX_BYTES = 8;
  /** Largest header accepted (the Hugging Face reader's limit), so a corrupt prefix cannot trigger a huge read. */
  static final long MAX_HEADER_BYTES = 100_000_000L;
  static final String METADATA_KEY = "__metadata__";

  private static final Logger LOG = LoggerFactory.getLogger(SafetensorsHeader.class);
  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();
  private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");

  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
  }

  /** Tensors by name, in name order. */
  Map<String, TensorInfo> tensors() {
    return tensors;
  }

  Map<String, String> metadata() {
    return metadata;
  }

  /** Checks the raw u64 length prefix against the file size; returns it as a usable header length. */
  static int checkHeaderLength(String file, long prefix, long fileSize) {
    String declared = Long.toUnsignedString(prefix);
    if (Long.compareUnsigned(prefix, 2) < 0) {
      throw new SafetensorsFormatException(file + ": header length prefix is " + declared
          + " bytes, expected at least 2 (the smallest JSON object, {})");
    }
    if (Long.compareUnsigned(prefix, MAX_HEADER_BYTES) > 0) {
      throw new SafetensorsFormatException(file + ": header length prefix is " + declared
          + " bytes, expected at most " + MAX_HEADER_BYTES + "; the file is not safetensors or is corrupt");
    }
    if (prefix > fileSize - LENGTH_PREFIX_BYTES) {
      throw new SafetensorsFormatException(file + ": header length prefix is " + declared + " bytes but only "
          + (fileSize - LENGTH_PREFIX_BYTES) + " bytes follow the 8-byte prefix (file size " + fileSize
          + "); the file is truncated");
    }
    return (int) prefix;
  }

  /** Parses and validates header bytes; {@code dataLength} is the size of the data buffer after the header. */
  static SafetensorsHeader parse(String file, ByteBuffer headerBytes, long dataLength) {
    ObjectNode root = parseJsonObject(file, headerBytes);
    Map<String, TensorInfo> tensors = new TreeMap<>();
    Map<String, String> metadata = Map.of();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (field.getKey().equals(METADATA_KEY)) {
        metadata = parseMetadata(file, field.getValue());
      } else {
        tensors.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue(), dataLength));
      }
    }
    checkNoOverlap(file, tensors.values(), dataLength);
    return new SafetensorsHeader(tensors, metadata);
  }

  private static ObjectNode parseJsonObject(String file, ByteBuffer headerBytes) {
    int headerStart = headerBytes.position();
    CharBuffer chars = CharBuffer.allocate(headerBytes.remaining()); // UTF-8 never has more chars than bytes
    CoderResult result = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(headerBytes, chars, true);
    if (result.isError()) {
      int at = headerBytes.position() - headerStart;
      throw new SafetensorsFormatException(file + ": header is not valid UTF-8: byte "
          + String.format("0x%02X", headerBytes.get(headerBytes.position()) & 0xFF) + " at header offset " + at
          + " starts a malformed sequence");
    }
    String text = chars.flip().toString();
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new SafetensorsFormatException(file + ": header is not valid JSON: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr()), e);
    }
    if (root == null || !root.isObject()) {
      throw new SafetensorsFormatException(file + ": header is JSON " + describe(root)
          + ", expected an object of tensor entries");
    }
    return (ObjectNode) root;
  }

  private static Map<String, String> parseMetadata(String file, JsonNode node) {
    if (!node.isObject()) {
      throw new SafetensorsFormatException(file + ": \"" + METADATA_KEY + "\" is " + describe(node)
          + ", expected an object of string values");
    }
    Map<String, String> metadata = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (!entry.getValue().isTextual()) {
        throw new SafetensorsFormatException(file + ": \"" + METADATA_KEY + "\" key \"" + entry.getKey()
            + "\" holds " + describe(entry.getValue()) + ", expected a string");
      }
      metadata.put(entry.getKey(), entry.getValue().textValue());
    }
    return metadata;
  }

  private static TensorInfo parseEntry(String file, String name, JsonNode node, long dataLength) {
    String where = file + ": tensor \"" + name + "\"";
    if (!node.isObject()) {
      throw new SafetensorsFormatException(where + " is " + describe(node)
          + ", expected an object with dtype, shape and data_offsets");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!ENTRY_FIELDS.contains(field)) {
        throw new SafetensorsFormatException(where + " has unknown field \"" + field
            + "\", expected only dtype, shape and data_offsets");
      }
    }
    JsonNode dtypeNode = required(where, node, "dtype");
    if (!dtypeNode.isTextual()) {
      throw new SafetensorsFormatException(where + " dtype is " + describe(dtypeNode) + ", expected a string");
    }
    SafetensorsDtype dtype = SafetensorsDtype.fromHeaderName(dtypeNode.textValue()).orElseThrow(() ->
        new SafetensorsFormatException(where + " has unknown dtype \"" + dtypeNode.textValue()
            + "\", expected one of " + Arrays.toString(SafetensorsDtype.values())));
    long[] shape = nonNegativeLongs(where, "shape", required(where, node, "shape"), -1);
    long[] offsets = nonNegativeLongs(where, "data_offsets", required(where, node, "data_offsets"), 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end) {
      throw new SafetensorsFormatException(where + " data_offsets [" + begin + ", " + end
          + "] begin after end, expected begin <= end");
    }
    long bytes = declaredBytes(where, dtype, shape);
    if (end - begin != bytes) {
      throw new SafetensorsFormatException(where + " declares shape " + Arrays.toString(shape) + " " + dtype
          + " = " + bytes + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin)
          + " bytes");
    }
    if (end > dataLength) {
      throw new SafetensorsFormatException(where + " data_offsets [" + begin + ", " + end
          + "] end past the data buffer of " + dataLength + " bytes; the file is truncated or the offsets wrong");
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static long declaredBytes(String where, SafetensorsDtype dtype, long[] shape) {
    try {
      long count = 1;
      for (long dim : shape) {
        count = Math.multiplyExact(count, dim);
      }
      return Math.multiplyExact(count, dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new SafetensorsFormatException(where + " declares shape " + Arrays.toString(shape) + " " + dtype
          + " whose byte size exceeds 2^63, expected a size that fits in the file");
    }
  }

  private static JsonNode required(String where, JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null) {
      throw new SafetensorsFormatException(where + " lacks \"" + field + "\"");
    }
    return value;
  }

  /** A JSON array of non-negative 64-bit integers, of {@code expectedSize} elements unless that is -1. */
  private static long[] nonNegativeLongs(String where, String field, JsonNode node, int expectedSize) {
    if (!node.isArray() || (expectedSize >= 0 && node.size() != expectedSize)) {
      throw new SafetensorsFormatException(where + " " + field + " is " + describe(node) + ", expected an array of "
          + (expectedSize >= 0 ? expectedSize + " " : "") + "non-negative integers");
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode item = node.get(i);
      if (!item.isIntegralNumber() || !item.canConvertToLong() || item.longValue() < 0) {
        throw new SafetensorsFormatException(where + " " + field + " " + node + " holds "
            + item + " at index " + i + ", expected a non-negative integer below 2^63");
      }
      values[i] = item.longValue();
    }
    return values;
  }

  /** Fails on the first pair of tensors whose byte ranges overlap; warns about bytes no tensor covers. */
  private static void checkNoOverlap(String file, Iterable<TensorInfo> tensors, long dataLength) {
    List<TensorInfo> byBegin = new ArrayList<>();
    tensors.forEach(byBegin::add);
    byBegin.sort(Comparator.comparingLong(TensorInfo::dataBegin).thenComparingLong(TensorInfo::dataEnd));
    long covered = 0;
    long uncovered = 0;
    TensorInfo previous = null;
    for (TensorInfo tensor : byBegin) {
      if (tensor.byteLength() == 0) {
        continue;
      }
      if (previous != null && tensor.dataBegin() < previous.dataEnd()) {
        throw new SafetensorsFormatException(file + ": tensor \"" + tensor.name() + "\" data_offsets ["
            + tensor.dataBegin() + ", " + tensor.dataEnd() + "] overlap tensor \"" + previous.name()
            + "\" data_offsets [" + previous.dataBegin() + ", " + previous.dataEnd() + "]");
      }
      uncovered += tensor.dataBegin() - covered;
      covered = tensor.dataEnd();
      previous = tensor;
    }
    uncovered += dataLength - covered;
    if (uncovered > 0) {
      LOG.warn("{}: {} of {} data bytes belong to no tensor (gaps or trailing bytes)", file, uncovered,
          dataLength);
    }
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "empty";
    }
    String text = node.toString();
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " "
        + (text.length() > 60 ? text.substring(0, 60) + "..." : text);
  }

  /**
   * Renders a header for tensors already laid out in order, with optional metadata, padded with spaces so the data
   * buffer starts on an 8-byte boundary as the Hugging Face writer does.
   */
  static byte[] render(List<TensorInfo> tensors, Map<String, String> metadata) {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject(METADATA_KEY);
      new TreeMap<>(metadata).forEach(meta::put);
    }
    for (TensorInfo tensor : tensors) {
      ObjectNode entry = root.putObject(tensor.name());
      entry.put("dtype", tensor.dtype().name());
      ArrayNode shape = entry.putArray("shape");
      for (long dim : tensor.shape()) {
        shape.add(dim);
      }
      entry.putArray("data_offsets").add(tensor.dataBegin()).add(tensor.dataEnd());
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not render a safetensors header", e);
    }
    int padded = (json.length + 7) / 8 * 8;
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }
}
