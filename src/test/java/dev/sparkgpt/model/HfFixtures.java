package dev.sparkgpt.model;

import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.io.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The Hugging Face fixtures (../shared/fixtures/README.md): reference prompts, copies with a tensor changed. */
public final class HfFixtures {
  public static final Path GPT2 = Path.of("src/test/resources/fixtures/gpt2-hf-tiny");
  public static final Path LLAMA = Path.of("src/test/resources/fixtures/llama-hf-tiny");

  private HfFixtures() {}

  /** The prompt of {@code fixture}'s reference-logits.safetensors ({@code input_ids}, stored as F32). */
  public static int[] referenceTokens(Path fixture) {
    try (SafetensorsReader r = SafetensorsReader.open(fixture.resolve("reference-logits.safetensors"))) {
      float[] ids = r.readFloats("input_ids");
      int[] tokens = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        tokens[i] = Math.round(ids[i]);
      }
      return tokens;
    }
  }

  /** {@code fixture} copied to {@code to} with tensor {@code name} dropped ({@code replacement} null) or replaced. */
  static Path rewrite(Path fixture, Path to, String name, INDArray replacement) throws Exception {
    Files.createDirectories(to);
    Files.copy(fixture.resolve("config.json"), to.resolve("config.json"));
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsReader r = SafetensorsReader.open(fixture)) {
      for (String n : r.names()) {
        if (!n.equals(name)) {
          w.add(n, r.readArray(n, DataType.FLOAT));
        } else if (replacement != null) {
          w.add(n, replacement);
        }
      }
    }
    w.write(to.resolve("model.safetensors"));
    return to;
  }
}
