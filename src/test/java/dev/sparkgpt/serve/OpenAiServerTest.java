package dev.sparkgpt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.generate.ChatSession;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** The OpenAI-compatible server on an ephemeral localhost port, driven by the JDK's HTTP client. */
class OpenAiServerTest {
  private static final ModelConfig TINY = new ModelConfig(50257, 96, 32, 2, 2, 0.0, true, true);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Tokenizer tok;
  private static Generator reference;
  private static OpenAiServer server;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    OneThread.pin();
    tok = Tokenizers.load("gpt2");
    reference = generator(GptModel.initialize(TINY, DataType.FLOAT, 7));
    List<OpenAiServer.Worker> workers = new ArrayList<>();
    for (int i = 0; i < 2; i++) { // two instances of the same model, as `serve --workers 2` loads them
      workers.add(new OpenAiServer.Worker(generator(GptModel.initialize(TINY, DataType.FLOAT, 7)), tok, 96));
    }
    server = new OpenAiServer("tiny", workers, 8, 4096, 12, new PrintStream(OutputStream.nullOutputStream()));
    base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
  }

  @AfterAll
  static void stop() {
    server.stop(1);
  }

  private static Generator generator(GptModel model) {
    return new Generator(new GptStepModel(model, null).scorer(), tok);
  }

  static HttpResponse<String> post(String url, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JsonFiles.MAPPER.readTree(r.body());
  }

  /** The data payloads of a server-sent event stream, [DONE] included. */
  private static List<String> events(String body) {
    List<String> data = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      assertTrue(block.startsWith("data: ") && !block.contains("\n"), "one-line event: " + block);
      data.add(block.substring(6));
    }
    return data;
  }

  @Test
  void completionsAnswerWhatTheGeneratorProducesAndStreamTheSameText() throws Exception {
    Generator.Result expected = reference.generate(tok.encode("Once upon a time"), 10, Sampler.greedy(), List.of(),
        null);
    HttpResponse<String> r = post(base + "/v1/completions",
        "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = json(r);
    assertEquals("text_completion", body.get("object").asText());
    assertEquals(expected.text(), body.at("/choices/0/text").asText());
    assertEquals("length", body.at("/choices/0/finish_reason").asText());
    assertEquals(4, body.at("/usage/prompt_tokens").asInt());
    assertEquals(10, body.at("/usage/completion_tokens").asInt());
    assertEquals(14, body.at("/usage/total_tokens").asInt());

    HttpResponse<String> s = post(base + "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":10,"
        + "\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    assertEquals(200, s.statusCode());
    assertTrue(s.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> data = events(s.body());
    assertEquals("[DONE]", data.get(data.size() - 1));
    StringBuilder text = new StringBuilder();
    for (String d : data.subList(0, data.size() - 3)) {
      JsonNode c = JsonFiles.MAPPER.readTree(d);
      assertTrue(c.at("/choices/0/finish_reason").isNull());
      text.append(c.at("/choices/0/text").asText());
    }
    assertEquals(expected.text(), text.toString(), "the chunks concatenate to the completion");
    assertTrue(data.size() > 4, "streamed in pieces: " + data.size());
    assertEquals("length", JsonFiles.MAPPER.readTree(data.get(data.size() - 3)).at("/choices/0/finish_reason")
        .asText());
    assertEquals(10, JsonFiles.MAPPER.readTree(data.get(data.size() - 2)).at("/usage/completion_tokens").asInt());

    // seeded sampling is reproducible and equals the generator's
    Generator.Result sampled = reference.generate(tok.encode("Once upon a time"), 10, new Sampler(0.9, 40, 0.95, 5),
        List.of(), null);
    JsonNode again = json(post(base + "/v1/completions", "{\"prompt\":[\"Once upon a time\"],\"max_tokens\":10,"
        + "\"temperature\":0.9,\"top_k\":40,\"top_p\":0.95,\"seed\":5}"));
    assertEquals(sampled.text(), again.at("/choices/0/text").asText());
  }

  @Test
  void everyPromptShapeOpenAiAcceptsGivesTheGeneratorsAnswers() throws Exception {
    String[] prompts = {"Once upon a time", "The sea"};
    String[] expected = new String[2];
    for (int i = 0; i < 2; i++) {
      expected[i] = reference.generate(tok.encode(prompts[i]), 6, Sampler.greedy(), List.of(), null).text();
    }
    String ids0 = JsonFiles.line(tok.encode(prompts[0])).strip();
    String ids1 = JsonFiles.line(tok.encode(prompts[1])).strip();
    String tail = ",\"max_tokens\":6,\"temperature\":0}";
    for (String shape : new String[] {"\"" + prompts[0] + "\"", ids0}) { // a string, a list of ids
      JsonNode one = json(post(base + "/v1/completions", "{\"prompt\":" + shape + tail));
      assertEquals(1, one.get("choices").size());
      assertEquals(expected[0], one.at("/choices/0/text").asText(), shape);
    }
    for (String shape : new String[] {"[\"" + prompts[0] + "\",\"" + prompts[1] + "\"]", "[" + ids0 + "," + ids1
        + "]"}) { // a list of strings, a list of id lists: one choice each, in order
      JsonNode both = json(post(base + "/v1/completions", "{\"prompt\":" + shape + tail));
      assertEquals(2, both.get("choices").size(), shape);
      for (int i = 0; i < 2; i++) {
        assertEquals(i, both.at("/choices/" + i + "/index").asInt());
        assertEquals(expected[i], both.at("/choices/" + i + "/text").asText(), shape);
      }
      assertEquals(tok.encode(prompts[0]).length + tok.encode(prompts[1]).length, both.at("/usage/prompt_tokens")
          .asInt());
    }
  }

  @Test
  void chatAsksInTheWorkersTemplate() throws Exception {
    // serve --checkpoint loads the template the checkpoint records (GenerationOptions): here phi3
    OpenAiServer.Worker w = new OpenAiServer.Worker(generator(GptModel.initialize(TINY, DataType.FLOAT, 7)), tok, 96,
        InstructionTemplate.PHI3);
    try (OpenAiServer phi3 = new OpenAiServer("phi3", List.of(w), 2, 4096, 12,
        new PrintStream(OutputStream.nullOutputStream()))) {
      String url = "http://127.0.0.1:" + phi3.start("127.0.0.1", 0) + "/v1/chat/completions";
      List<ChatSession.Turn> history = List.of(new ChatSession.Turn("Name a colour.", "Blue."));
      String prompt = ChatSession.prompt(InstructionTemplate.PHI3, tok, history, "And another?", 96 - 6);
      assertEquals("<|user|>\nName a colour.\n<|assistant|>\nBlue.\n<|user|>\nAnd another?\n<|assistant|>\n",
          prompt);
      Generator.Result expected = reference.generate(tok.encode(prompt), 6, Sampler.greedy(), List.of("\n<|user|>"),
          null);
      JsonNode body = json(post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"},"
          + "{\"role\":\"assistant\",\"content\":\"Blue.\"},{\"role\":\"user\",\"content\":\"And another?\"}],"
          + "\"max_tokens\":6,\"temperature\":0}"));
      assertEquals(expected.text(), body.at("/choices/0/message/content").asText());
      Generator.Result alpaca = reference.generate(tok.encode(ChatSession.prompt(InstructionTemplate.ALPACA, tok,
          history, "And another?", 96 - 6)), 6, Sampler.greedy(), List.of("\n### "), null);
      assertTrue(!alpaca.text().equals(expected.text()), "the formats differ in what the model answers");
    }
  }

  @Test
  void chatUsesTheInstructionTemplateWithHistoryAndStreamsDeltas() throws Exception {
    List<ChatSession.Turn> history = List.of(new ChatSession.Turn("Name a colour.", "Blue."));
    String prompt = ChatSession.prompt(InstructionTemplate.ALPACA, tok, history, "And another?", 96 - 6);
    Generator.Result expected = reference.generate(tok.encode(prompt), 6, Sampler.greedy(), List.of("\n### "),
        null);
    String request = "{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"},{\"role\":\"assistant\","
        + "\"content\":\"Blue.\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And another?\"}]}],"
        + "\"max_tokens\":6,\"temperature\":0%s}";
    JsonNode body = json(post(base + "/v1/chat/completions", request.formatted("")));
    assertEquals("chat.completion", body.get("object").asText());
    assertEquals("assistant", body.at("/choices/0/message/role").asText());
    assertEquals(expected.text(), body.at("/choices/0/message/content").asText());
    assertEquals(tok.encode(prompt).length, body.at("/usage/prompt_tokens").asInt());

    List<String> data = events(post(base + "/v1/chat/completions", request.formatted(",\"stream\":true")).body());
    assertEquals("assistant", JsonFiles.MAPPER.readTree(data.get(0)).at("/choices/0/delta/role").asText());
    StringBuilder text = new StringBuilder();
    for (String d : data.subList(1, data.size() - 1)) {
      JsonNode c = JsonFiles.MAPPER.readTree(d);
      assertEquals("chat.completion.chunk", c.get("object").asText());
      text.append(c.at("/choices/0/delta/content").asText());
    }
    assertEquals(expected.text(), text.toString());

    // a system message replaces the template's preamble
    InstructionTemplate custom = InstructionTemplate.ALPACA.withSystem("Answer briefly.");
    assertEquals("Answer briefly.\n\n### Instruction:\nHi\n\n### Response:\n", custom.format("Hi", ""));
    Generator.Result sys = reference.generate(tok.encode(custom.format("Hi", "")), 5, Sampler.greedy(),
        List.of("\n### "), null);
    JsonNode withSystem = json(post(base + "/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":"
        + "\"Answer briefly.\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5,\"temperature\":0}"));
    assertEquals(sys.text(), withSystem.at("/choices/0/message/content").asText());
  }

  @Test
  void badRequestsGetOpenAiErrorsNamingTheField() throws Exception {
    String completions = base + "/v1/completions";
    String[][] cases = {
        {"{not json", "400", "null", "invalid_json"},
        {"[1,2]", "400", "null", "null"},
        {"{\"max_tokens\":3}", "400", "prompt", "null"},
        {"{\"prompt\":\"hi\",\"temperature\":\"hot\"}", "400", "temperature", "null"},
        {"{\"prompt\":\"hi\",\"temperature\":3}", "400", "temperature", "null"},
        {"{\"prompt\":\"hi\",\"max_tokens\":0}", "400", "max_tokens", "null"},
        {"{\"prompt\":\"hi\",\"n\":9}", "400", "n", "null"},
        {"{\"prompt\":\"hi\",\"stop\":[1]}", "400", "stop", "null"},
        {"{\"prompt\":\"hi\",\"stream\":\"yes\"}", "400", "stream", "null"},
        {"{\"prompt\":\"hi\",\"model\":\"gpt-4\"}", "404", "model", "model_not_found"},
        {"{\"prompt\":\"hi\",\"max_tokens\":96}", "400", "prompt", "context_length_exceeded"},
        {"{\"prompt\":\"" + "x".repeat(5000) + "\"}", "413", "null", "request_too_large"},
    };
    for (String[] c : cases) {
      HttpResponse<String> r = post(completions, c[0]);
      assertEquals(Integer.parseInt(c[1]), r.statusCode(), c[0] + " -> " + r.body());
      JsonNode error = json(r).get("error");
      assertEquals(c[2], error.get("param").isNull() ? "null" : error.get("param").asText(), r.body());
      assertEquals(c[3], error.get("code").isNull() ? "null" : error.get("code").asText(), r.body());
      assertTrue(error.get("message").asText().length() > 10, r.body());
    }
    HttpResponse<String> chat = post(base + "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":"
        + "\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}");
    assertEquals(400, chat.statusCode());
    assertTrue(json(chat).at("/error/message").asText().contains("last message must have role 'user'"));
    HttpResponse<String> role = post(base + "/v1/chat/completions", "{\"messages\":[{\"role\":\"bot\",\"content\":"
        + "\"hi\"}]}");
    assertEquals("messages[0].role", json(role).at("/error/param").asText());

    HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(completions)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(405, get.statusCode());
    assertEquals("POST", get.headers().firstValue("Allow").orElse(""));
    HttpResponse<String> missing = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v2/x")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(404, missing.statusCode());

    JsonNode models = json(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).GET().build(),
        HttpResponse.BodyHandlers.ofString()));
    assertEquals("tiny", models.at("/data/0/id").asText());
    JsonNode health = json(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).GET().build(),
        HttpResponse.BodyHandlers.ofString()));
    assertEquals("ok", health.get("status").asText());
    assertEquals(2, health.get("workers").asInt());
  }

  @Test
  void concurrentClientsEachGetTheirOwnAnswer() throws Exception {
    String[] prompts = {"The cat", "A ship sailed", "In 1999", "Hello world", "Spark is", "Numbers: 1, 2,"};
    List<String> expected = new ArrayList<>();
    for (String p : prompts) {
      expected.add(reference.generate(tok.encode(p), 8, Sampler.greedy(), List.of(), null).text());
    }
    List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      String body = JsonFiles.MAPPER.writeValueAsString(Map.of("prompt", prompts[i], "max_tokens", 8,
          "temperature", 0, "stream", i % 2 == 0));
      futures.add(postAsync(base + "/v1/completions", body));
    }
    for (int i = 0; i < prompts.length; i++) {
      HttpResponse<String> r = futures.get(i).get(60, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), r.body());
      String text;
      if (i % 2 == 0) {
        StringBuilder b = new StringBuilder();
        List<String> data = events(r.body());
        for (String d : data.subList(0, data.size() - 1)) {
          b.append(JsonFiles.MAPPER.readTree(d).at("/choices/0/text").asText());
        }
        text = b.toString();
      } else {
        text = json(r).at("/choices/0/text").asText();
      }
      assertEquals(expected.get(i), text, "answer to '" + prompts[i] + "'");
    }
  }

  /**
   * A generator whose model counts {@code started} down and then waits for {@code release}; it answers id
   * (context length mod 100): "!" "\"" "#" …, a fixed, checkable text.
   */
  private static Generator blockingGenerator(CountDownLatch started, CountDownLatch release) {
    return new Generator(new Generator.NextTokenLogits() {
      @Override
      public float[] next(int[] context) {
        started.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        float[] logits = new float[tok.vocabSize()];
        logits[context.length % 100] = 1;
        return logits;
      }

      @Override
      public int contextLength() {
        return 32;
      }

      @Override
      public int vocabSize() {
        return tok.vocabSize();
      }
    }, tok);
  }

  private static JsonNode health(String completionsUrl) throws Exception {
    return json(HTTP.send(HttpRequest.newBuilder(URI.create(completionsUrl.replace("/v1/completions", "/health")))
        .GET().build(), HttpResponse.BodyHandlers.ofString()));
  }

  private static CompletableFuture<HttpResponse<String>> postAsync(String url, String body) {
    return HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A one-worker server with room for {@code queue} waiting requests, its first request running until release. */
  private record Blocked(OpenAiServer server, String url, CompletableFuture<HttpResponse<String>> running)
      implements AutoCloseable {
    static final String BODY = "{\"prompt\":\"a\",\"max_tokens\":2,\"temperature\":0}";

    static Blocked start(int queue, CountDownLatch release) throws Exception {
      CountDownLatch started = new CountDownLatch(1);
      OpenAiServer server = new OpenAiServer("slow", List.of(new OpenAiServer.Worker(blockingGenerator(started,
          release), tok, 32)), queue, 4096, 4, new PrintStream(OutputStream.nullOutputStream()));
      String url = "http://127.0.0.1:" + server.start("127.0.0.1", 0) + "/v1/completions";
      CompletableFuture<HttpResponse<String>> running = postAsync(url, BODY);
      assertTrue(started.await(30, TimeUnit.SECONDS));
      return new Blocked(server, url, running);
    }

    @Override
    public void close() {
      server.close();
    }
  }

  @Test
  void aFullQueueAnswers429AndQueuedRequestsStillComplete() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Blocked blocked = Blocked.start(1, release)) {
      CompletableFuture<HttpResponse<String>> queued = postAsync(blocked.url(), Blocked.BODY);
      for (int i = 0; i < 200 && health(blocked.url()).get("queued").asInt() < 1; i++) {
        Thread.sleep(25); // until the second request sits in the queue
      }
      HttpResponse<String> rejected = post(blocked.url(), Blocked.BODY);
      assertEquals(429, rejected.statusCode(), rejected.body());
      assertEquals("queue_full", json(rejected).at("/error/code").asText());
      assertEquals("1", rejected.headers().firstValue("Retry-After").orElse(""));
      release.countDown();
      for (CompletableFuture<HttpResponse<String>> f : List.of(blocked.running(), queued)) {
        HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals("\"#", json(r).at("/choices/0/text").asText(), "ids 1 and 2 after a 1-token prompt");
      }
    }
  }

  @Test
  void queueZeroMeansNoWaiting429WheneverTheWorkerIsBusy() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Blocked blocked = Blocked.start(0, release)) {
      assertEquals(0, health(blocked.url()).get("queue_capacity").asInt());
      HttpResponse<String> rejected = post(blocked.url(), Blocked.BODY); // at once, the worker still blocked
      assertEquals(429, rejected.statusCode(), rejected.body());
      assertEquals("the server is busy (1 running, 0 queued); retry later", json(rejected).at("/error/message")
          .asText());
      assertEquals(1, release.getCount(), "the 429 came while the first request was still running");
      JsonNode busy = health(blocked.url());
      assertEquals(1, busy.get("running").asInt());
      assertEquals(0, busy.get("queued").asInt());
      release.countDown();
      assertEquals("\"#", json(blocked.running().get(30, TimeUnit.SECONDS)).at("/choices/0/text").asText());
      // one client asking again as soon as it has its answer always finds the worker free
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = post(blocked.url(), Blocked.BODY);
        assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
      }
    }
  }
}
