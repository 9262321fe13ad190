package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.PythonProcess;
import dev.sparkgpt.io.JsonFiles;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * notebooks/metrics.ipynb: always checked as nbformat 4; run through notebooks/run_notebook_cells.py on a synthetic
 * run directory when Python with pandas and matplotlib is here ($PYTHON, else python3), skipped otherwise.
 */
class NotebookTest {
  private static final Path NOTEBOOK = Path.of("notebooks/metrics.ipynb");
  private static final Path RUNNER = Path.of("notebooks/run_notebook_cells.py");

  @Test
  void notebookIsNbformat4WithCodeCellsThatReadRunDir() throws IOException {
    JsonNode nb = JsonFiles.MAPPER.readTree(NOTEBOOK.toFile());
    assertEquals(4, nb.get("nbformat").asInt());
    assertTrue(nb.get("nbformat_minor").asInt() >= 0);
    assertEquals("python3", nb.at("/metadata/kernelspec/name").asText());
    int code = 0;
    StringBuilder sources = new StringBuilder();
    for (JsonNode cell : nb.get("cells")) {
      String type = cell.get("cell_type").asText();
      assertTrue(type.equals("code") || type.equals("markdown"), type);
      assertTrue(cell.get("metadata").isObject() && cell.get("source").isArray() && cell.has("id"));
      if (type.equals("code")) {
        code++;
        assertTrue(cell.get("outputs").isArray() && cell.get("outputs").isEmpty(), "committed without outputs");
        assertTrue(cell.get("execution_count").isNull());
        cell.get("source").forEach(line -> sources.append(line.asText()));
      }
    }
    assertEquals(5, code);
    assertTrue(sources.toString().contains("os.environ.get(\"RUN_DIR\""));
    assertTrue(sources.toString().contains("import pandas as pd") && sources.toString().contains("matplotlib"));
  }

  @Test
  void runnerExecutesTheCellsOnARunDirectory(@TempDir Path tmp) throws Exception {
    String python = PythonProcess.python();
    assumeTrue(run(List.of(python, "-c", "import pandas, matplotlib"), tmp).exitCode() == 0,
        python + " cannot import pandas and matplotlib (apt-get install python3-pandas python3-matplotlib)");
    Path runDir = RunFixtures.fullRun(tmp);
    Path plots = tmp.resolve("plots");
    PythonProcess.Result r = run(List.of(python, RUNNER.toString(), NOTEBOOK.toString(), "--run-dir", runDir.toString(),
        "--plot-dir", plots.toString()), tmp);
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains(runDir + ": 4 steps"), r.output());
    assertTrue(r.output().contains("2.345"), "best val loss, as in the report: " + r.output());
    assertTrue(r.output().contains("metrics.ipynb: 5 code cells ran"), r.output());
    for (String png : List.of("loss.png", "lr_throughput.png")) {
      BufferedImage image = ImageIO.read(plots.resolve(png).toFile());
      assertNotNull(image, png);
      assertTrue(image.getWidth() > 400 && image.getHeight() > 200, png);
    }
  }

  @Test
  void runnerNamesTheFailingCell(@TempDir Path tmp) throws Exception {
    String python = PythonProcess.python();
    assumeTrue(run(List.of(python, "-c", "import json"), tmp).exitCode() == 0, "no " + python);
    Path nb = tmp.resolve("broken.ipynb");
    Files.writeString(nb, """
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
          {"cell_type": "code", "id": "a", "metadata": {}, "outputs": [], "execution_count": null,
           "source": ["%matplotlib inline\\n", "x = 1\\n"]},
          {"cell_type": "markdown", "id": "b", "metadata": {}, "source": ["text"]},
          {"cell_type": "code", "id": "c", "metadata": {}, "outputs": [], "execution_count": null,
           "source": ["assert x == 2, 'x is ' + str(x)\\n"]}]}
        """);
    PythonProcess.Result r = run(List.of(python, RUNNER.toString(), nb.toString(), "--run-dir", tmp.toString()), tmp);
    assertEquals(1, r.exitCode(), r.output());
    assertTrue(r.output().contains("AssertionError: x is 1"), "the magic line was skipped, cell 1 ran: " + r.output());
    assertTrue(r.output().contains("error: " + nb + ": code cell 2 of 2 failed"), r.output());
  }

  @Test
  void everyNotebookIsNbformat4WithoutOutputs() throws IOException {
    for (String name : List.of("shards", "eval_compare", "serve")) {
      JsonNode nb = JsonFiles.MAPPER.readTree(Path.of("notebooks", name + ".ipynb").toFile());
      assertEquals(4, nb.get("nbformat").asInt(), name);
      for (JsonNode cell : nb.get("cells")) {
        assertTrue(!cell.get("cell_type").asText().equals("code") || cell.get("outputs").isEmpty(), name);
      }
    }
  }

  @Test
  void shardsAndEvalNotebooksRunOnFixtures(@TempDir Path tmp) throws Exception {
    String python = PythonProcess.python();
    assumeTrue(run(List.of(python, "-c", "import pandas, matplotlib"), tmp).exitCode() == 0, "no pandas/matplotlib");
    Path shards = Files.createDirectories(tmp.resolve("run/shards"));
    Files.writeString(shards.resolve("manifest.json"), """
        {"format": "sparkgpt-tokens", "format_version": 1, "created_by": "test", "seq_len": 4, "row_tokens": 5,
         "split_mode": "tokens", "tokenizer": {"name": "gpt2", "hash": "x", "vocab_size": 50257, "eot_id": 50256},
         "splits": {"train": {"tokens": 40, "rows": 10, "documents": 1, "shards": [
                      {"path": "train/part-00000.parquet", "rows": 6, "bytes": 900},
                      {"path": "train/part-00001.parquet", "rows": 4, "bytes": 700}]},
                    "val": {"tokens": 8, "rows": 2, "documents": 1, "shards": [
                      {"path": "val/part-00000.parquet", "rows": 2, "bytes": 400}]}}}
        """);
    Path plots = tmp.resolve("plots");
    PythonProcess.Result r = run(List.of(python, RUNNER.toString(), "notebooks/shards.ipynb", "--run-dir", tmp.resolve("run")
        .toString(), "--plot-dir", plots.toString()), tmp);
    assertEquals(0, r.exitCode(), r.output());
    String squeezed = r.output().replaceAll("[ \\t]+", " ");
    assertTrue(squeezed.contains("train 2 10 50") && r.output().contains("train: 40 tokens in 10 rows")
        && r.output().contains("shards.ipynb: 3 shards"), r.output());
    assertTrue(Files.size(plots.resolve("shards.png")) > 1000);

    for (String[] run : new String[][] {{"a", "0.25", "31.5"}, {"b", "0.75", "12.25"}}) {
      Path eval = Files.createDirectories(tmp.resolve("runs/" + run[0] + "/pretrain/eval"));
      Files.writeString(eval.resolve("report.json"), "{\"tasks\": {\"copa\": {\"n\": 4, \"acc\": " + run[1]
          + ", \"acc_norm\": 0.5}}, \"perplexity\": {\"shards\": {\"perplexity\": " + run[2]
          + ", \"bits_per_byte\": 1.5}}}");
    }
    r = run(List.of(python, RUNNER.toString(), "notebooks/eval_compare.ipynb", "--run-dir",
        tmp.resolve("runs/a").toString(), "--run-dir", tmp.resolve("runs/b").toString(), "--plot-dir",
        plots.toString()), tmp);
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("2 eval reports") && r.output().contains("0.75") && r.output().contains("12.25")
        && r.output().contains("eval_compare.ipynb: 2 task results, 2 perplexities"), r.output());
  }

  @Test
  void serveNotebookPostsCompletionsAndSkipsWithoutAServer(@TempDir Path tmp) throws Exception {
    String python = PythonProcess.python();
    assumeTrue(run(List.of(python, "-c", "import json"), tmp).exitCode() == 0, "no " + python);
    List<String> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/completions", exchange -> {
      bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      byte[] answer = "{\"choices\": [{\"text\": \" and more\"}], \"usage\": {\"completion_tokens\": 2}}"
          .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, answer.length);
      exchange.getResponseBody().write(answer);
      exchange.close();
    });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort();
      PythonProcess.Result r = PythonProcess.run(List.of(python, RUNNER.toString(), "notebooks/serve.ipynb",
          "--run-dir", tmp.toString()), tmp, java.util.Map.of("SERVE_URL", url));
      assertEquals(0, r.exitCode(), r.output());
      assertTrue(r.output().contains("'ROMEO:' -> ' and more'") && r.output().contains("serve.ipynb: 2 completions"),
          r.output());
      JsonNode first = JsonFiles.MAPPER.readTree(bodies.get(0));
      assertEquals("Every effort moves you", first.get("prompt").asText());
      assertEquals(30, first.get("max_tokens").asInt());
    } finally {
      server.stop(0);
    }
    PythonProcess.Result none = PythonProcess.run(List.of(python, RUNNER.toString(), "notebooks/serve.ipynb",
        "--run-dir", tmp.toString()), tmp, java.util.Map.of("SERVE_URL", "http://127.0.0.1:9"));
    assertEquals(0, none.exitCode(), none.output());
    assertTrue(none.output().contains("no server at") && none.output().contains("serve.ipynb: 0 completions"),
        none.output());
  }

  private static PythonProcess.Result run(List<String> command, Path dir) throws InterruptedException {
    return PythonProcess.run(command, dir, java.util.Map.of());
  }
}
