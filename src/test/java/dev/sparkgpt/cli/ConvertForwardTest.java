package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.SafetensorsDtype;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.model.HfFixtures;
import dev.sparkgpt.model.HfGpt2Checkpoint;
import dev.sparkgpt.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * convert and forward through the CLI on the Hugging Face GPT-2 fixture, whose reference logits come from an
 * independent float64 implementation (see ../shared/fixtures/README.md).
 */
class ConvertForwardTest {
  private static final Path HF = HfFixtures.GPT2;

  private static int[] referenceIds() {
    return HfFixtures.referenceTokens(HF);
  }

  private static INDArray referenceLogits() throws Exception {
    try (SafetensorsReader r = SafetensorsReader.open(HF.resolve("reference-logits.safetensors"))) {
      return r.readArray("logits", DataType.DOUBLE);
    }
  }

  private static double maxError(INDArray a, INDArray b) {
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }

  private static String csv(int[] ids) {
    return String.join(",", java.util.Arrays.stream(ids).mapToObj(Integer::toString).toList());
  }

  @Test
  void forwardWritesTheReferenceLogits(@TempDir Path dir) throws Exception {
    int[] ids = referenceIds();
    Path out = dir.resolve("logits.safetensors");
    String[] r = MainTest.run("", "forward", "--checkpoint", HF.toString(), "--ids", csv(ids), "--out", out.toString());
    assertEquals("0", r[0], r[2]);
    try (SafetensorsReader written = SafetensorsReader.open(out)) {
      assertEquals(SafetensorsDtype.F32, written.info("logits").dtype());
      assertArrayEquals(new long[] {ids.length, 50257}, written.info("logits").shape());
      double error = maxError(written.readArray("logits", DataType.FLOAT), referenceLogits());
      assertTrue(error < 1e-4, "max |logit - reference| = " + error);
      assertArrayEquals(java.util.Arrays.stream(ids).asLongStream().toArray(), written.readLongs("input_ids"));
    }
  }

  @Test
  void hfToSparkGptToHfRoundTripsAndKeepsTheLogits(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("run");
    String[] r = MainTest.run("", "convert", "hf-to-sparkgpt", "--from", HF.toString(), "--to", run.toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(Files.isRegularFile(run.resolve("latest")), "a run directory with a latest checkpoint");
    int[] ids = referenceIds();
    double error = maxError(ForwardCommand.logits(Checkpoint.open(run.toString()).model(), ids), referenceLogits());
    assertTrue(error < 1e-4, "converted checkpoint: max |logit - reference| = " + error);

    Path back = dir.resolve("hf");
    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", run.toString(), "--to", back.toString());
    assertEquals("0", r[0], r[2]);
    Map<String, INDArray> original = HfGpt2Checkpoint.load(HF).weights();
    Map<String, INDArray> again = HfGpt2Checkpoint.load(back).weights();
    assertEquals(original.keySet(), again.keySet());
    original.forEach((name, value) -> assertEquals(value, again.get(name), name + " identical after the round trip"));
    try (SafetensorsReader written = SafetensorsReader.open(back)) {
      assertFalse(written.names().contains("lm_head.weight"), "the tied head stays tied");
      assertTrue(written.names().contains("h.0.attn.c_attn.weight"), "GPT-2's own names: " + written.names());
    }

    Path half = dir.resolve("hf-bf16");
    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", run.toString(), "--to", half.toString(), "--dtype",
        "bf16");
    assertEquals("0", r[0], r[2]);
    try (SafetensorsReader written = SafetensorsReader.open(half)) {
      assertEquals(SafetensorsDtype.BF16, written.info("wte.weight").dtype());
    }
    Map<String, INDArray> bf16 = HfGpt2Checkpoint.load(half).weights();
    original.forEach((name, value) -> {
      // round to nearest with 8 significant bits (7 stored): relative error ≤ 2^-8
      INDArray relative = bf16.get(name).sub(value).div(org.nd4j.linalg.ops.transforms.Transforms.abs(value)
          .add(1e-30));
      assertTrue(relative.amaxNumber().doubleValue() <= Math.pow(2, -8), name + ": BF16 error "
          + relative.amaxNumber());
    });
  }

  @Test
  void llamaForwardAndConvertRoundTripKeepTheReferenceLogits(@TempDir Path dir) throws Exception {
    // the LlamaForCausalLM fixture (RMSNorm, SwiGLU, RoPE, grouped-query attention), same independent reference
    Path llama = Path.of("src/test/resources/fixtures/llama-hf-tiny");
    int[] ids;
    INDArray reference;
    try (SafetensorsReader r = SafetensorsReader.open(llama.resolve("reference-logits.safetensors"))) {
      ids = java.util.Arrays.stream(r.readDoubles("input_ids")).mapToInt(v -> (int) Math.round(v)).toArray();
      reference = r.readArray("logits", DataType.DOUBLE);
    }
    Path out = dir.resolve("logits.safetensors");
    String[] r = MainTest.run("", "forward", "--checkpoint", llama.toString(), "--ids", csv(ids), "--out",
        out.toString());
    assertEquals("0", r[0], r[2]);
    try (SafetensorsReader written = SafetensorsReader.open(out)) {
      assertArrayEquals(new long[] {ids.length, 32000}, written.info("logits").shape());
      double error = maxError(written.readArray("logits", DataType.FLOAT), reference);
      assertTrue(error < 1e-4, "max |logit - reference| = " + error);
    }
    Path run = dir.resolve("run");
    r = MainTest.run("", "convert", "hf-to-sparkgpt", "--from", llama.toString(), "--to", run.toString());
    assertEquals("0", r[0], r[2]);
    double error = maxError(ForwardCommand.logits(Checkpoint.open(run.toString()).model(), ids), reference);
    assertTrue(error < 1e-4, "converted checkpoint: max |logit - reference| = " + error);
    Path back = dir.resolve("hf");
    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", run.toString(), "--to", back.toString());
    assertEquals("0", r[0], r[2]);
    try (SafetensorsReader original = SafetensorsReader.open(llama); SafetensorsReader again =
        SafetensorsReader.open(back)) {
      assertEquals(original.names(), again.names());
      for (String name : original.names()) {
        assertArrayEquals(original.readFloats(name), again.readFloats(name), 0f, name + " identical after the trip");
      }
    }
  }

  @Test
  void badInputGetsOneLineWithTheFix(@TempDir Path dir) throws Exception {
    Path taken = Files.createDirectories(dir.resolve("taken"));
    Files.writeString(taken.resolve("notes.txt"), "mine");
    String[] r = MainTest.run("", "convert", "hf-to-sparkgpt", "--from", HF.toString(), "--to", taken.toString());
    assertEquals("2", r[0]);
    assertEquals("error: " + taken + ": already exists and is not empty. Fix: choose a new --to directory",
        r[2].trim());
    assertEquals(1, Files.list(taken).count(), "nothing written into it");

    r = MainTest.run("", "convert", "hf-to-sparkgpt", "--from", dir.toString(), "--to", dir.resolve("x").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: " + dir + ": not a Hugging Face checkpoint"), r[2]);

    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", HF.toString(), "--to", dir.resolve("y").toString(),
        "--dtype", "int8");
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: --dtype: 'int8' is not a dtype"), r[2]);

    int[] tooLong = new int[129];
    r = MainTest.run("", "forward", "--checkpoint", HF.toString(), "--ids", csv(tooLong), "--out",
        dir.resolve("l.safetensors").toString());
    assertEquals("2", r[0]);
    assertEquals("error: --ids: 129 ids but the model's context is 128 tokens. Fix: pass at most 128 ids",
        r[2].trim());
    r = MainTest.run("", "forward", "--checkpoint", HF.toString(), "--ids", "1,50257", "--out",
        dir.resolve("l.safetensors").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: --ids: id 50257 at position 1 is outside the model's vocabulary [0, 50257)"),
        r[2]);
    assertFalse(Files.exists(dir.resolve("l.safetensors")));
  }
}
