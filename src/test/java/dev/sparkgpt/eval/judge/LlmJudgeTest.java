package dev.sparkgpt.eval.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.eval.EvalException;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.serve.OpenAiServer;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The LLM judge against a scripted OpenAI-style server, an unreachable one, and SparkGPT's own serve. */
class LlmJudgeTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final JudgeClient.Policy FAST = new JudgeClient.Policy(2, Duration.ofMillis(1), Duration.ofSeconds(20));

  private static Path responses(Path dir, String... modelResponses) throws Exception {
    StringBuilder lines = new StringBuilder();
    for (String r : modelResponses) {
      lines.append(JsonFiles.line(Map.of("instruction", "Rewrite: " + r, "input", "", "output", "ref",
          "model_response", r)));
    }
    Path file = dir.resolve("responses.jsonl");
    Files.writeString(file, lines);
    return file;
  }

  @Test
  void scoresAreParsedLikeTheBookAsks() {
    assertEquals(85, LlmJudge.parseScore("85"));
    assertEquals(85, LlmJudge.parseScore("Score: 85/100"));
    assertEquals(100, LlmJudge.parseScore("**100**"));
    assertEquals(0, LlmJudge.parseScore("0."));
    assertEquals(40, LlmJudge.parseScore("I'd say 7.5 out of ten, i.e. 40"));
    assertNull(LlmJudge.parseScore("The response is good."));
    assertNull(LlmJudge.parseScore("1000 points"));
    LlmJudge.Item item = new LlmJudge.Item(1, "Name a colour.", "", "Blue.", "Red.");
    assertEquals("Given the input `Below is an instruction that describes a task. Write a response that "
        + "appropriately completes the request.\n\n### Instruction:\nName a colour.` and correct output `Blue.`, "
        + "score the model response `Red.` on a scale from 0 to 100, where 100 is the best score. Respond with the "
        + "integer number only.", LlmJudge.prompt(item));
  }

  @Test
  void scriptedJudgeRetriesCachesAndCountsUnparsedAnswers(@TempDir Path dir) throws Exception {
    // the scripted judge answers by the response it is asked about; "flaky" fails once with a 500 first
    Map<String, String> answers = Map.of("good", "85", "fair", "Score: 40/100", "odd", "I cannot rate this.",
        "flaky", "100");
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    List<String> authorizations = new ArrayList<>();
    HttpServer judge = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    judge.createContext("/v1/chat/completions", ex -> {
      JsonNode body = JsonFiles.MAPPER.readTree(ex.getRequestBody());
      String prompt = body.at("/messages/0/content").asText();
      String response = prompt.replaceAll("(?s).*score the model response `([^`]*)`.*", "$1");
      synchronized (authorizations) {
        authorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
      }
      int n = calls.computeIfAbsent(response, k -> new AtomicInteger()).incrementAndGet();
      byte[] out;
      int status = 200;
      if (response.equals("flaky") && n == 1) {
        status = 500;
        out = "{\"error\":{\"message\":\"overloaded\"}}".getBytes(StandardCharsets.UTF_8);
      } else {
        out = JsonFiles.MAPPER.writeValueAsBytes(Map.of("choices", List.of(Map.of("index", 0, "message",
            Map.of("role", "assistant", "content", answers.getOrDefault(response, "no idea"))))));
      }
      ex.sendResponseHeaders(status, out.length);
      ex.getResponseBody().write(out);
      ex.close();
    });
    judge.start();
    try {
      String url = "http://127.0.0.1:" + judge.getAddress().getPort() + "/v1";
      JudgeClient client = new JudgeClient(url, "judge-x", "sk-test", FAST, 16);
      Path file = responses(dir, "good", "fair", "odd", "flaky");
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(file), client, "judge-x", dir.resolve("out"), 3, QUIET);
      assertEquals(4, r.n());
      assertEquals(3, r.scored());
      assertEquals(1, r.unparsed());
      assertEquals(0, r.failed());
      assertEquals((85 + 40 + 100) / 3.0, r.meanScore(), 1e-12);
      assertEquals(1, r.histogram().get("40-49"));
      assertEquals(1, r.histogram().get("80-89"));
      assertEquals(1, r.histogram().get("90-100"));
      assertEquals(2, calls.get("flaky").get(), "retried after the 500");
      assertTrue(authorizations.stream().allMatch("Bearer sk-test"::equals), authorizations.toString());
      JsonNode report = JsonFiles.MAPPER.readTree(dir.resolve("out/" + LlmJudge.REPORT).toFile());
      assertEquals(75.0, report.get("mean_score").asDouble(), 1e-12);
      assertEquals(1, report.get("unparsed").asInt());
      List<String> scores = Files.readAllLines(dir.resolve("out/" + LlmJudge.SCORES));
      assertEquals(4, scores.size());
      assertTrue(JsonFiles.MAPPER.readTree(scores.get(2)).get("score").isNull());

      // a re-run asks nothing; one more response asks only that one
      LlmJudge.Report again = LlmJudge.run(LlmJudge.read(file), client, "judge-x", dir.resolve("out"), 3, QUIET);
      assertEquals(0, again.asked());
      assertEquals(4, again.fromCache());
      assertEquals(r.meanScore(), again.meanScore(), 0.0);
      int before = calls.values().stream().mapToInt(AtomicInteger::get).sum();
      LlmJudge.Report more = LlmJudge.run(LlmJudge.read(responses(dir, "good", "fair", "odd", "flaky", "good2")),
          client, "judge-x", dir.resolve("out"), 3, QUIET);
      assertEquals(1, more.asked());
      assertEquals(2, more.unparsed(), "good2's answer has no number");
      assertEquals(5, more.n());
      assertEquals(before + 1, calls.values().stream().mapToInt(AtomicInteger::get).sum());

      // a judge that refuses (unknown model: 404) stops at once with the reason
      judge.createContext("/bad/chat/completions", ex -> {
        byte[] out = "{\"error\":{\"message\":\"model 'nope' not found\"}}".getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(404, out.length);
        ex.getResponseBody().write(out);
        ex.close();
      });
      EvalException refused = assertThrows(EvalException.class, () -> LlmJudge.run(LlmJudge.read(file),
          new JudgeClient("http://127.0.0.1:" + judge.getAddress().getPort() + "/bad", "nope", null, FAST, 16),
          "nope", dir.resolve("bad"), 2, QUIET));
      assertTrue(refused.getMessage().contains("HTTP 404 model 'nope' not found"), refused.getMessage());
    } finally {
      judge.stop(0);
    }
  }

  @Test
  void anUnreachableEndpointFailsClearlyAfterRetriesAndKeepsWhatItHas(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    Path file = responses(dir, "a", "b");
    JudgeClient client = new JudgeClient("http://127.0.0.1:" + port + "/v1", "m", null, FAST, 16);
    EvalException e = assertThrows(EvalException.class, () -> LlmJudge.run(LlmJudge.read(file), client, "m",
        dir.resolve("out"), 2, QUIET));
    assertTrue(e.getMessage().contains("2 of 2 responses got no answer"), e.getMessage());
    assertTrue(e.getMessage().contains("after 3 tries"), e.getMessage());
    assertTrue(e.getMessage().contains("re-run the same command"), e.getMessage());
    assertEquals(2, JsonFiles.MAPPER.readTree(dir.resolve("out/" + LlmJudge.REPORT).toFile()).get("failed").asInt());

    Files.writeString(dir.resolve("bad.jsonl"), "{\"instruction\":\"x\",\"output\":\"y\",\"model_response\":\"z\"}\n"
        + "{\"instruction\":\"x\",\"output\":\"y\"}\n");
    InputException missing = assertThrows(InputException.class, () -> LlmJudge.read(dir.resolve("bad.jsonl")));
    assertTrue(missing.getMessage().contains("bad.jsonl:2: field 'model_response' missing"), missing.getMessage());
    Files.writeString(dir.resolve("broken.jsonl"), "{\"instruction\":\n");
    InputException broken = assertThrows(InputException.class, () -> LlmJudge.read(dir.resolve("broken.jsonl")));
    assertTrue(broken.getMessage().contains("broken.jsonl:1: not a JSON object"), broken.getMessage());
  }

  @Test
  void sparkGptServeWorksAsTheJudgeEndpoint(@TempDir Path dir) throws Exception {
    OneThread.pin();
    Tokenizer tok = Tokenizers.load("gpt2");
    GptModel model = GptModel.initialize(new ModelConfig(50257, 256, 32, 2, 1, 0.0, true, true), DataType.FLOAT, 3);
    try (OpenAiServer serve = new OpenAiServer("tiny-judge", List.of(new OpenAiServer.Worker(
        new Generator(new GptStepModel(model, null).scorer(), tok), tok, 256)), 4, 1 << 20, 8, QUIET)) {
      int port = serve.start("127.0.0.1", 0);
      Path file = responses(dir, "Blue.", "Green.", "Red.");
      JudgeClient client = new JudgeClient("http://127.0.0.1:" + port + "/v1/", "tiny-judge", null, FAST, 6);
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(file), client, "tiny-judge", dir.resolve("out"), 2, QUIET);
      // a random tiny model answers noise: every item is answered, scored or counted as unparsed
      assertEquals(3, r.n());
      assertEquals(0, r.failed());
      assertEquals(3, r.scored() + r.unparsed());
      assertEquals(3, Files.readAllLines(dir.resolve("out/" + LlmJudge.CACHE)).size());
      for (String line : Files.readAllLines(dir.resolve("out/" + LlmJudge.SCORES))) {
        assertTrue(JsonFiles.MAPPER.readTree(line).get("judge_answer").isTextual(), line);
      }
    }
  }
}
