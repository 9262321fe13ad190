package dev.sparkgpt.train;

import dev.sparkgpt.checkpoint.CheckpointStore;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The inner AdamW moments of parameter-averaging workers in a checkpoint: {@code workers/worker-NNNNN.safetensors}
 * beside the weights, one per worker, written by the workers themselves. A resume with the same worker count gives
 * each worker its own; with another count every worker starts from their mean (a deterministic choice: the moments
 * are running averages of squared gradients of the same model, so their mean is a fair estimate for any worker). A
 * checkpoint of the local loop has no worker files: its optimizer.safetensors moments seed every worker.
 */
public final class WorkerMoments {
  private WorkerMoments() {}

  /** The file of {@code worker}'s moments in checkpoint directory {@code dir}. */
  public static Path file(Path dir, int worker) {
    return new Path(new Path(dir, WorkerRound.WORKERS_DIR), String.format("worker-%05d.safetensors", worker));
  }

  /** Worker {@code worker}'s moments (of {@code workers} now) from a checkpoint written by {@code savedWorkers}. */
  public static Map<String, INDArray> read(Path dir, int worker, int savedWorkers, int workers, Configuration conf) {
    if (savedWorkers == 0) {
      return CheckpointStore.readTensors(new Path(dir, CheckpointStore.OPTIMIZER), conf);
    }
    if (savedWorkers == workers) {
      return CheckpointStore.readTensors(file(dir, worker), conf);
    }
    return mean(dir, savedWorkers, conf);
  }

  /** The element-wise mean of every saved worker's moments (the step counter: worker 0's). */
  public static Map<String, INDArray> mean(Path dir, int savedWorkers, Configuration conf) {
    Map<String, INDArray> sum = new LinkedHashMap<>(CheckpointStore.readTensors(file(dir, 0), conf));
    for (int w = 1; w < savedWorkers; w++) {
      Map<String, INDArray> next = CheckpointStore.readTensors(file(dir, w), conf);
      sum.replaceAll((name, value) -> name.equals(AdamW.STEP) ? value : value.addi(next.get(name)));
    }
    sum.replaceAll((name, value) -> name.equals(AdamW.STEP) ? value : value.divi(savedWorkers));
    return sum;
  }
}
