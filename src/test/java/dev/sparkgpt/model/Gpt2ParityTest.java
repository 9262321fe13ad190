package dev.sparkgpt.model;

import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Our GPT loaded from the Hugging Face fixture reproduces logits computed in float64 by an independent
 * implementation (../shared/fixtures/README.md) to 1e-4, and its greedy next tokens.
 */
class Gpt2ParityTest {
  private static final Path DIR = HfFixtures.GPT2;

  @Test
  void logitsMatchTheIndependentReference() throws Exception {
    INDArray reference;
    try (SafetensorsReader r = SafetensorsReader.open(DIR.resolve("reference-logits.safetensors"))) {
      reference = r.readArray("logits", DataType.FLOAT);
    }
    int[] tokens = HfFixtures.referenceTokens(DIR);
    GptModel model = Checkpoint.open(DIR.toString()).model();
    INDArray logits = model.logits(new int[][] {tokens}).reshape(tokens.length, model.config().vocabSize());
    double maxError = logits.castTo(DataType.DOUBLE).sub(reference.castTo(DataType.DOUBLE)).amaxNumber()
        .doubleValue();
    assertTrue(maxError < 1e-4, "max |logit - reference| = " + maxError);

    JsonNode summary = JsonFiles.MAPPER.readTree(Files.readString(DIR.resolve("reference.json")));
    int[] greedy = new int[tokens.length];
    for (int t = 0; t < tokens.length; t++) {
      greedy[t] = logits.getRow(t).argMax().getInt(0);
    }
    int[] expected = new int[tokens.length];
    for (int t = 0; t < tokens.length; t++) {
      expected[t] = summary.get("greedy_next_token_each_position").get(t).asInt();
    }
    assertArrayEquals(expected, greedy);
    assertEquals(summary.at("/last_position_top5_logits/0").asDouble(),
        logits.getDouble(tokens.length - 1, summary.at("/last_position_top5_ids/0").asInt()), 1e-4);
  }
}
