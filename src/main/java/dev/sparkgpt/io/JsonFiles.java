package dev.sparkgpt.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** JSON files SparkGPT writes (manifests, metrics, reports): snake_case keys, read from any Hadoop path. */
public final class JsonFiles {
  /** The mapper for every JSON file we write: snake_case, indented, unknown keys tolerated on read. */
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private JsonFiles() {}

  /** Serialises a value as one line of compact JSON followed by a newline (JSON Lines, server-sent events). */
  public static String line(Object value) {
    try {
      return MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass().getSimpleName(), e);
    }
  }

  /** Serialises a value as pretty JSON text. */
  public static String toJson(Object value) {
    try {
      return MAPPER.writeValueAsString(value) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass().getSimpleName(), e);
    }
  }

  /** Reads {@code path} as {@code type}; a missing or malformed file names the path. */
  public static <T> T read(Path path, Class<T> type, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException(path + ": not found");
      }
      try (InputStream in = fs.open(path)) {
        return MAPPER.readValue(in, type);
      }
    } catch (JsonProcessingException e) {
      throw new InputException(path + ": malformed JSON (" + e.getOriginalMessage() + ")", e);
    } catch (IOException e) {
      throw new InputException(path + ": cannot read: " + e.getMessage(), e);
    }
  }
}
