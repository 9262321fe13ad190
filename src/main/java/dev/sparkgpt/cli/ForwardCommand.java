package dev.sparkgpt.cli;

import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsWriter;
import dev.sparkgpt.model.GptModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparkgpt forward}: the logits of one token sequence, written as safetensors — the tool for comparing our
 * forward pass with another implementation's, position by position.
 */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Write the logits [T, vocab] (F32 tensor 'logits', plus 'input_ids') of a token sequence.")
public final class ForwardCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "Run, step or HF directory.")
  String checkpoint;

  @Option(names = "--ids", required = true, split = ",", paramLabel = "ID,ID,...", description = "Token ids.")
  int[] ids;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output .safetensors file.")
  Path out;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() {
    Checkpoint ck = Checkpoint.open(checkpoint);
    INDArray logits = logits(ck.model(), ids);
    long[] idValues = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      idValues[i] = ids[i];
    }
    new SafetensorsWriter().putMetadata("checkpoint", ck.dir().toString())
        .add("logits", logits, SafetensorsDtype.F32)
        .add("input_ids", idValues, new long[] {ids.length}, SafetensorsDtype.I64)
        .write(out);
    System.out.printf("forward: %d tokens -> %s (logits [%d, %d])%n", ids.length, out, ids.length,
        logits.size(1));
    return 0;
  }

  /** Eval-mode logits [T, vocab] of {@code ids}, after checking they fit the model. */
  public static INDArray logits(GptModel model, int[] ids) {
    ModelConfig c = model.config();
    if (ids.length == 0) {
      throw new ConfigException("--ids", "no token ids", "give at least one id, e.g. --ids 15496,11");
    }
    if (ids.length > c.contextLength()) {
      throw new ConfigException("--ids", ids.length + " ids but the model's context is " + c.contextLength()
          + " tokens", "pass at most " + c.contextLength() + " ids");
    }
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= c.vocabSize()) {
        throw new ConfigException("--ids", "id " + ids[i] + " at position " + i + " is outside the model's "
            + "vocabulary [0, " + c.vocabSize() + ")", "use ids of the model's tokenizer");
      }
    }
    INDArray logits = model.logits(new int[][] {ids});
    return logits.reshape(ids.length, logits.size(2)).castTo(DataType.FLOAT);
  }
}
