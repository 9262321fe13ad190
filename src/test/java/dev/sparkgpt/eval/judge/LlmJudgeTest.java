package dev.sparkgpt.eval.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
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

  /** What the scripted judge sends back for one request. */
  record Reply(int status, String body, String retryAfter) {
    static Reply answer(String content) {
      try {
        return new Reply(200, JsonFiles.MAPPER.writeValueAsString(Map.of("choices", List.of(Map.of("index", 0,
            "message", Map.of("role", "assistant", "content", content))))), null);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    static Reply error(int status, String message) {
      return new Reply(status, "{\"error\":{\"message\":\"" + message + "\"}}", null);
    }
  }

  /** How the scripted judge answers: the model response it is asked about, the request's arrival number (from 1). */
  interface Script {
    Reply reply(String response, int arrival, String authorization) throws InterruptedException;
  }

  /**
   * An OpenAI-style judge on 127.0.0.1 answering through a {@link Script}, each request on its own thread (so slow
   * and concurrent requests are possible); it records what it was asked and when.
   */
  static final class ScriptedJudge implements AutoCloseable {
    final HttpServer server;
    final AtomicInteger requests = new AtomicInteger();
    final List<String> asked = Collections.synchronizedList(new ArrayList<>());
    final List<Long> arrivalNanos = Collections.synchronizedList(new ArrayList<>());
    private final ExecutorService threads = Executors.newCachedThreadPool();

    ScriptedJudge(Script script) throws java.io.IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.setExecutor(threads);
      server.createContext("/v1/chat/completions", ex -> {
        arrivalNanos.add(System.nanoTime());
        int arrival = requests.incrementAndGet();
        String prompt = JsonFiles.MAPPER.readTree(ex.getRequestBody()).at("/messages/0/content").asText();
        String response = prompt.replaceAll("(?s).*score the model response `([^`]*)`.*", "$1");
        asked.add(response);
        Reply reply;
        try {
          reply = script.reply(response, arrival, ex.getRequestHeaders().getFirst("Authorization"));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          reply = Reply.error(500, "interrupted");
        }
        byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
        if (reply.retryAfter() != null) {
          ex.getResponseHeaders().set("Retry-After", reply.retryAfter());
        }
        try {
          ex.sendResponseHeaders(reply.status(), out.length);
          ex.getResponseBody().write(out);
        } catch (java.io.IOException e) {
          // the client gave up (timed out) first
        }
        ex.close();
      });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    @Override
    public void close() {
      server.stop(0);
      threads.shutdownNow();
    }
  }

  @Test
  void theApiKeyNeverAppearsInTheConsoleTheReportOrTheCache(@TempDir Path dir) throws Exception {
    String key = "sk-h8-Distinctive-Key-7f3a9c";
    List<String> sent = Collections.synchronizedList(new ArrayList<>());
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    // an endpoint that echoes the key back, in answers and in its errors, as careless ones do
    Script echoing = (response, arrival, authorization) -> {
      sent.add(authorization);
      return switch (response) {
        case "flaky" -> failedOnce.add(response) ? Reply.error(503, "overloaded, key " + authorization)
            : Reply.answer("70");
        case "echo" -> Reply.answer("80 (you sent " + authorization + ")");
        default -> Reply.answer("60");
      };
    };
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream out = System.out;
    PrintStream err = System.err;
    try (ScriptedJudge judge = new ScriptedJudge(echoing)) {
      System.setOut(new PrintStream(console, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(console, true, StandardCharsets.UTF_8));
      PrintStream captured = new PrintStream(console, true, StandardCharsets.UTF_8);
      Path file = responses(dir, "fine", "echo", "flaky");
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(file), new JudgeClient(judge.url(), "judge-x", key, FAST, 16),
          "judge-x", dir.resolve("out"), 1, captured);
      assertEquals(3, r.scored());
      assertEquals((60 + 80 + 70) / 3.0, r.meanScore(), 1e-12);

      // a judge that refuses the key and quotes it: the error names the refusal, not the key
      try (ScriptedJudge refusing = new ScriptedJudge((response, arrival, authorization) ->
          Reply.error(401, "Incorrect API key provided: " + authorization.substring(7)))) {
        EvalException e = assertThrows(EvalException.class, () -> LlmJudge.run(LlmJudge.read(file),
            new JudgeClient(refusing.url(), "judge-x", key, FAST, 16), "judge-x", dir.resolve("refused"), 1,
            captured));
        assertTrue(e.getMessage().contains("HTTP 401 Incorrect API key provided: " + JudgeClient.REDACTED),
            e.getMessage());
        captured.println(e.getMessage()); // what the CLI would print
      }
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    assertEquals(4, sent.size(), "3 items, one retried");
    assertTrue(sent.stream().allMatch(("Bearer " + key)::equals), "the key was sent: " + sent);
    String printed = console.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("| judge | n | scored |"), printed);
    assertFalse(printed.contains(key), printed);
    List<Path> written = new ArrayList<>();
    try (var files = Files.walk(dir)) {
      files.filter(Files::isRegularFile).forEach(written::add);
    }
    for (String name : List.of(LlmJudge.REPORT, LlmJudge.SCORES, LlmJudge.CACHE)) {
      assertTrue(written.contains(dir.resolve("out").resolve(name)), name + " written: " + written);
    }
    for (Path f : written) {
      assertFalse(Files.readString(f).contains(key), f + " holds the key");
    }
    assertTrue(Files.readString(dir.resolve("out").resolve(LlmJudge.CACHE)).contains("80 (you sent Bearer "
        + JudgeClient.REDACTED + ")"), "the echoed key is redacted in the cached answer");
  }

  @Test
  void anEndpointThatGoesAwayMidRunKeepsTheAnswersAndAReRunAsksOnlyTheRest(@TempDir Path dir) throws Exception {
    Path file = responses(dir, "r1", "r2", "r3", "r4", "r5");
    List<String> firstAnswered = Collections.synchronizedList(new ArrayList<>());
    ScriptedJudge[] self = new ScriptedJudge[1];
    try (ScriptedJudge dying = new ScriptedJudge((response, arrival, authorization) -> {
      if (arrival <= 2) {
        firstAnswered.add(response);
        return Reply.answer("70");
      }
      // one request at a time: both answers are delivered before the third request stops the server for good
      new Thread(() -> self[0].server.stop(0)).start();
      return Reply.error(503, "shutting down");
    })) {
      self[0] = dying;
      EvalException e = assertThrows(EvalException.class, () -> LlmJudge.run(LlmJudge.read(file),
          new JudgeClient(dying.url(), "m", null, FAST, 16), "m", dir.resolve("out"), 1, QUIET));
      assertTrue(e.getMessage().startsWith("judge: 3 of 5 responses got no answer: no answer from " + dying.url()
          + "/chat/completions after 3 tries"), e.getMessage());
      assertTrue(e.getMessage().contains("The 2 answers so far are kept in " + dir.resolve("out")
          .resolve(LlmJudge.CACHE) + "; re-run the same command to ask only the missing ones"), e.getMessage());
    }
    assertEquals(2, firstAnswered.size());
    JsonNode partial = JsonFiles.MAPPER.readTree(dir.resolve("out").resolve(LlmJudge.REPORT).toFile());
    assertEquals(5, partial.get("n").asInt());
    assertEquals(2, partial.get("scored").asInt());
    assertEquals(3, partial.get("failed").asInt());
    assertEquals(70.0, partial.get("mean_score").asDouble(), 0.0);
    assertEquals(2, Files.readAllLines(dir.resolve("out").resolve(LlmJudge.CACHE)).size());
    List<String> scored = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("out").resolve(LlmJudge.SCORES))) {
      JsonNode n = JsonFiles.MAPPER.readTree(line);
      if (!n.get("score").isNull()) {
        assertEquals(70, n.get("score").asInt());
        scored.add(n.get("instruction").asText().substring("Rewrite: ".length()));
      }
    }
    assertEquals(new java.util.TreeSet<>(firstAnswered), new java.util.TreeSet<>(scored));

    try (ScriptedJudge working = new ScriptedJudge((response, arrival, authorization) -> Reply.answer("90"))) {
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(file), new JudgeClient(working.url(), "m", null, FAST, 16), "m",
          dir.resolve("out"), 2, QUIET);
      assertEquals(3, working.requests.get(), "only the missing items are asked");
      List<String> all = new ArrayList<>(working.asked);
      all.addAll(firstAnswered);
      assertEquals(List.of("r1", "r2", "r3", "r4", "r5"), all.stream().sorted().toList(), "each item asked once");
      assertEquals(3, r.asked());
      assertEquals(2, r.fromCache());
      assertEquals(0, r.failed());
      assertEquals((2 * 70 + 3 * 90) / 5.0, r.meanScore(), 1e-12);
    }
  }

  @Test
  void a429WithRetryAfterIsWaitedOutBeforeTheRetry(@TempDir Path dir) throws Exception {
    try (ScriptedJudge judge = new ScriptedJudge((response, arrival, authorization) -> arrival == 1
        ? new Reply(429, "{\"error\":{\"message\":\"rate limited\"}}", "1") : Reply.answer("60"))) {
      // the policy's own backoff is 1 ms: only Retry-After can make the retry wait a second
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(responses(dir, "only")),
          new JudgeClient(judge.url(), "m", null, FAST, 16), "m", dir.resolve("out"), 1, QUIET);
      assertEquals(60.0, r.meanScore(), 0.0);
      assertEquals(2, judge.requests.get());
      double gap = (judge.arrivalNanos.get(1) - judge.arrivalNanos.get(0)) / 1e9;
      assertTrue(gap >= 0.95 && gap < 10, "retried after Retry-After: 1, " + gap + " s later");
    }
  }

  @Test
  void aSlowEndpointTimesOutAndTheRequestIsRetried(@TempDir Path dir) throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (ScriptedJudge judge = new ScriptedJudge((response, arrival, authorization) -> {
      if (arrival == 1) {
        release.await(20, TimeUnit.SECONDS); // far past the client's timeout
        return Reply.answer("10");
      }
      return Reply.answer("55");
    })) {
      JudgeClient client = new JudgeClient(judge.url(), "m", null,
          new JudgeClient.Policy(2, Duration.ofMillis(1), Duration.ofMillis(500)), 16);
      long start = System.nanoTime();
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(responses(dir, "slow")), client, "m", dir.resolve("out"), 1,
          QUIET);
      double seconds = (System.nanoTime() - start) / 1e9;
      assertEquals(55.0, r.meanScore(), 0.0, "the answer of the retry, not of the request that timed out");
      assertEquals(2, judge.requests.get());
      assertTrue(seconds >= 0.5 && seconds < 15, "gave up on the slow request after its 0.5 s: " + seconds + " s");
    } finally {
      release.countDown();
    }
  }

  @Test
  void noMoreRequestsAreInFlightThanTheConcurrencyLimit(@TempDir Path dir) throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CountDownLatch firstThree = new CountDownLatch(3);
    try (ScriptedJudge judge = new ScriptedJudge((response, arrival, authorization) -> {
      most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      firstThree.countDown();
      firstThree.await(20, TimeUnit.SECONDS); // hold the first ones until three are here: the limit is reached
      Thread.sleep(20);
      inFlight.decrementAndGet();
      return Reply.answer("50");
    })) {
      LlmJudge.Report r = LlmJudge.run(LlmJudge.read(responses(dir, "a", "b", "c", "d", "e", "f", "g", "h", "i")),
          new JudgeClient(judge.url(), "m", null, FAST, 16), "m", dir.resolve("out"), 3, QUIET);
      assertEquals(9, r.scored());
      assertEquals(9, judge.requests.get());
      assertEquals(3, most.get(), "in flight at most --concurrency 3, and that many at once");
    }
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
