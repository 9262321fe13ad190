package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.PythonProcess;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.serve.OpenAiServer;
import dev.sparkgpt.serve.ServeSettings;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * EleutherAI's lm-evaluation-harness itself ({@code local-completions}, its Python API) scoring a task through
 * {@code sparkgpt serve} gives what {@code sparkgpt eval} gives on the same checkpoint and rows: the same acc and
 * acc_norm, and every request's log-likelihood and greedy flag. The checkpoint is what a user would hand the
 * harness: the GPT-2 fixture converted to SparkGPT and exported back to a Hugging Face directory, whose tokenizer
 * files the harness loads with transformers' AutoTokenizer; where torch is installed too, the harness's {@code hf}
 * model (transformers itself) scores that directory and must agree as well. Runs where lm_eval, transformers and
 * datasets import ({@code LM_EVAL_PYTHON}, else {@code PYTHON}, else python3; .ci/run installs them best effort),
 * skips otherwise.
 */
class LmEvalParityTest {
  private static final String FIXTURE = "../shared/fixtures/gpt2-hf-tiny";
  private static final String TASKS = "src/main/resources/data/eval/arc_easy.jsonl";

  @Test
  void lmEvalAgainstServeReproducesSparkgptEvalRequestByRequest(@TempDir Path dir) throws Exception {
    String python = System.getenv().getOrDefault("LM_EVAL_PYTHON", PythonProcess.python());
    PythonProcess.Result probe = PythonProcess.run(List.of(python, "-c", "import lm_eval, transformers, datasets"),
        dir, Map.of());
    assumeTrue(probe.exitCode() == 0, python + " cannot import lm_eval, transformers and datasets (pip install "
        + "lm-eval transformers datasets; LM_EVAL_PYTHON names the interpreter): " + probe.output());
    assumeTrue(Files.isDirectory(Path.of(FIXTURE)), "no " + FIXTURE);

    Path hf = MainTest.exportedThroughSparkGpt(Path.of(FIXTURE), dir);
    assertTrue(Files.exists(hf.resolve("tokenizer.json")) && Files.exists(hf.resolve("tokenizer_config.json")));

    GenerationOptions.Loaded loaded = GenerationOptions.load(hf.toString(), "auto", true, false);
    int context = loaded.model().config().contextLength();
    // 24 items whose longest request fits the fixture's 128-token context: lm-eval's API models keep one token
    // fewer than the context when they must cut a long context (it reserves one for the generated token), eval
    // and lm-eval's hf model keep the whole context, so only requests that fit compare exactly
    List<String> items = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(TASKS))) {
      JsonNode item = JsonFiles.MAPPER.readTree(line);
      int longest = 0;
      for (JsonNode choice : item.get("choices")) {
        longest = Math.max(longest, loaded.tokenizer().encode(item.get("query").asText() + " " + choice.asText())
            .length);
      }
      if (longest < context - 1 && items.size() < 24) { // a token of margin: lm-eval encodes the two parts apart
        items.add(line);
      }
    }
    Path task = dir.resolve("parity.jsonl");
    Files.write(task, items);

    String[] eval = MainTest.run("", "eval", "--checkpoint", hf.toString(), "--tasks", task.toString(), "--out",
        dir.resolve("ours/report.json").toString());
    assertEquals("0", eval[0], String.join("\n", eval));
    JsonNode report = JsonFiles.MAPPER.readTree(dir.resolve("ours/report.json").toFile()).at("/tasks/parity");
    Map<String, double[]> ours = new HashMap<>();
    try (var files = Files.list(dir.resolve("ours"))) {
      Path samples = files.filter(p -> p.getFileName().toString().startsWith("samples_parity_")).findFirst()
          .orElseThrow();
      for (String line : Files.readAllLines(samples)) {
        JsonNode s = JsonFiles.MAPPER.readTree(line);
        for (int i = 0; i < s.get("resps").size(); i++) {
          JsonNode r = s.get("resps").get(i).get(0);
          ours.put(s.get("doc_id").asInt() + "/" + i, new double[] {r.get(0).asDouble(),
              Boolean.parseBoolean(r.get(1).asText()) ? 1 : 0});
        }
      }
    }

    OpenAiServer server = new OpenAiServer("fixture", List.of(new OpenAiServer.Worker(loaded.generator(),
        loaded.tokenizer(), context, loaded.template(), new GptScoringModel(loaded.model()))),
        ServeSettings.of(8, 1 << 22, 16), new PrintStream(OutputStream.nullOutputStream()));
    PythonProcess.Result harness;
    try {
      int port = server.start("127.0.0.1", 0);
      harness = PythonProcess.run(List.of(python, "src/test/resources/lm_eval_local_completions.py",
          "http://127.0.0.1:" + port + "/v1/completions", "fixture", hf.toString(), String.valueOf(context),
          task.toString(), dir.resolve("lm_eval.json").toString()), dir, Map.of());
    } finally {
      server.stop(1);
    }
    assertEquals(0, harness.exitCode(), harness.output());
    assertSameScores(report, ours, JsonFiles.MAPPER.readTree(dir.resolve("lm_eval.json").toFile()), items.size(),
        "local-completions");

    // the harness's own hf model (transformers on the CPU) on the exported directory, where torch is here
    if (PythonProcess.run(List.of(python, "-c", "import torch, accelerate"), dir, Map.of()).exitCode() == 0) {
      PythonProcess.Result hfRun = PythonProcess.run(List.of(python, "src/test/resources/lm_eval_local_completions.py",
          "hf", "-", hf.toString(), String.valueOf(context), task.toString(), dir.resolve("lm_eval_hf.json").toString()),
          dir, Map.of());
      assertEquals(0, hfRun.exitCode(), hfRun.output());
      assertSameScores(report, ours, JsonFiles.MAPPER.readTree(dir.resolve("lm_eval_hf.json").toFile()), items.size(),
          "hf");
    }
  }

  private static void assertSameScores(JsonNode report, Map<String, double[]> ours, JsonNode theirs, int items,
      String model) {
    assertEquals(items * 4, theirs.get("requests").size(), model);
    assertEquals(report.get("acc").asDouble(), theirs.get("acc").asDouble(), 1e-12, model + " acc");
    assertEquals(report.get("acc_norm").asDouble(), theirs.get("acc_norm").asDouble(), 1e-12, model + " acc_norm");
    for (JsonNode r : theirs.get("requests")) {
      String key = r.get("doc_id").asInt() + "/" + r.get("choice").asInt();
      double[] mine = ours.get(key);
      assertEquals(mine[0], r.get("loglikelihood").asDouble(), 1e-4, model + ": log-likelihood of request " + key);
      assertEquals(mine[1] == 1, r.get("is_greedy").asBoolean(), model + ": is_greedy of request " + key);
    }
  }
}
