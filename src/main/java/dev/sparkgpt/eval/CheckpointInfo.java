package dev.sparkgpt.eval;

import dev.sparkgpt.io.CheckpointException;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.sparkgpt.checkpoint.Checkpoint;
import org.apache.hadoop.conf.Configuration;

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
    Checkpoint ck;
    try {
      ck = Checkpoint.open(path, conf);
    } catch (CheckpointException e) {
      return new CheckpointInfo(path, null, null);   // the model was given some other way: its path alone
    }
    if (ck.kind() == Checkpoint.Kind.HUGGING_FACE) {
      return new CheckpointInfo(path, null, null);
    }
    return new CheckpointInfo(path, ck.dir().getName(), ck.step());
  }

  /**
   * The checkpoint directory evaluated, as one name: the path given, followed by the step directory when the path
   * was a run's out_dir ({@code runs/a/step-000200}); null without a path. Unlike the step id alone, two runs'
   * step-000200 get two names (the Parquet samples' {@code checkpoint} partition).
   */
  public String label() {
    if (path == null) {
      return null;
    }
    String given = path.replaceAll("/+$", "");
    return id == null || given.endsWith("/" + id) || given.equals(id) ? given : given + "/" + id;
  }
}
