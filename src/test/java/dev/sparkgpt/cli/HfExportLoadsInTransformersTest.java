package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.PythonProcess;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code sparkgpt convert sparkgpt-to-hf} writes loads in Hugging Face transformers unchanged — AutoConfig,
 * AutoModelForCausalLM (GPT2LMHeadModel, LlamaForCausalLM), GenerationConfig and AutoTokenizer, the loaders vLLM and
 * lm-eval's {@code hf} model sit on — and that model reproduces the fixture's float64 reference logits; AutoTokenizer
 * gives our tokenizer's ids. The checkpoints went fixture → SparkGPT run → export, as a user's would. Runs where
 * torch and transformers import ({@code LM_EVAL_PYTHON}, else {@code PYTHON}, else python3), skips otherwise.
 */
class HfExportLoadsInTransformersTest {
  private static final List<String> TEXTS = List.of("Hello, world! It was a dark and stormy night.",
      "  multiple   spaces\n\nand lines\t", "café 中文 😀", "numbers 1234567 and  trailing ");

  @Test
  void gpt2AndLlamaExportsLoadInTransformersAndGiveTheReferenceLogits(@TempDir Path dir) throws Exception {
    String python = System.getenv().getOrDefault("LM_EVAL_PYTHON", PythonProcess.python());
    PythonProcess.Result probe = PythonProcess.run(List.of(python, "-c", "import torch, transformers, safetensors"),
        dir, Map.of());
    assumeTrue(probe.exitCode() == 0, python + " cannot import torch and transformers: " + probe.output());
    Path texts = dir.resolve("texts.json");
    Files.writeString(texts, JsonFiles.MAPPER.writeValueAsString(TEXTS));
    Tokenizer gpt2 = Tokenizers.load("gpt2");

    for (String name : List.of("gpt2-hf-tiny", "llama-hf-tiny")) {
      Path fixture = Path.of("../shared/fixtures", name);
      assumeTrue(Files.isDirectory(fixture), "no " + fixture);
      Path hf = MainTest.exportedThroughSparkGpt(fixture, dir);

      Path result = dir.resolve(name + ".json");
      PythonProcess.Result r = PythonProcess.run(List.of(python, "src/test/resources/hf_export_check.py",
          hf.toString(), fixture.toString(), texts.toString(), result.toString()), dir, Map.of());
      assertEquals(0, r.exitCode(), r.output());
      JsonNode got = JsonFiles.MAPPER.readTree(result.toFile());
      JsonNode reference = JsonFiles.MAPPER.readTree(fixture.resolve("reference.json").toFile());
      assertEquals(name.startsWith("gpt2") ? "GPT2LMHeadModel" : "LlamaForCausalLM", got.get("model_class").asText());
      assertTrue(got.get("max_abs_diff").asDouble() < 1e-4, name + ": transformers' logits of the export differ from"
          + " the float64 reference by " + got.get("max_abs_diff").asDouble());
      assertEquals(reference.get("greedy_next_token_each_position"), got.get("greedy"), name);
      if (name.startsWith("gpt2")) { // the Llama fixture records no tokenizer, so its export has none
        assertEquals(50256, got.at("/generation_config/eos_token_id").asInt());
        assertEquals(50256, got.get("eos_token_id").asInt());
        for (int t = 0; t < TEXTS.size(); t++) {
          List<Integer> ours = new ArrayList<>();
          for (int id : gpt2.encode(TEXTS.get(t))) {
            ours.add(id);
          }
          List<Integer> theirs = new ArrayList<>();
          got.get("ids").get(t).forEach(n -> theirs.add(n.asInt()));
          assertEquals(ours, theirs, "AutoTokenizer on the export vs our gpt2 ids: " + TEXTS.get(t));
        }
      } else {
        assertTrue(got.path("ids").isMissingNode(), "no tokenizer files, so no AutoTokenizer");
      }
    }
  }
}
