package dev.sparkgpt.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.CheckpointStore;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Which checkpoint a report is about: the path given, the checkpoint directory it resolves to ({@code id}, e.g.
 * step-000500, following a run directory's {@code latest}), and the training step from its state.json.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CheckpointInfo(String path, String id, Long step) {

  /**
   * Describes {@code path}: a run's out_dir (its {@code latest} is followed) or one step-NNNNNN directory. Anything
   * else (null, or a model given in code) is reported by path alone.
   */
  public static CheckpointInfo describe(String path, Configuration conf) {
    if (path == null) {
      return new CheckpointInfo(null, null, null);
    }
    Path dir = new Path(path);
    try {
      FileSystem fs = dir.getFileSystem(conf);
      Path latest = new Path(dir, CheckpointStore.LATEST);
      if (fs.exists(latest)) {
        try (InputStream in = fs.open(latest)) {
          dir = new Path(dir, new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
        }
      }
      Path state = new Path(dir, CheckpointStore.STATE);
      if (!fs.exists(state)) {
        return new CheckpointInfo(path, null, null);
      }
      JsonNode doc;
      try (InputStream in = fs.open(state)) {
        doc = JsonFiles.MAPPER.readTree(in);
      }
      JsonNode step = doc.path("step");
      return new CheckpointInfo(path, dir.getName(), step.canConvertToLong() ? step.asLong() : null);
    } catch (IOException e) {
      throw new CheckpointException(path + ": cannot read the checkpoint's " + CheckpointStore.STATE + ": "
          + e.getMessage(), e);
    }
  }
}
