package dev.sparkgpt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The server's defences, each driven by a real client on 127.0.0.1: raw sockets where a client misbehaves at the
 * HTTP level (slowloris, forged Host, disconnects), the JDK client elsewhere. The surefire JVM runs with
 * {@code sun.net.httpserver.maxReqTime=4} (pom.xml), the read timeout these tests expect.
 */
class ServeHardeningTest {
  private static final ModelConfig TINY = new ModelConfig(50257, 96, 32, 2, 2, 0.0, true, true);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
  private static Tokenizer tok;
  private static OpenAiServer server;
  private static int port;

  @BeforeAll
  static void start() throws Exception {
    OneThread.pin();
    tok = Tokenizers.load("gpt2");
    List<OpenAiServer.Worker> workers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      GptModel model = GptModel.initialize(TINY, DataType.FLOAT, 7);
      workers.add(new OpenAiServer.Worker(new Generator(new GptStepModel(model, null).scorer(), tok), tok, 96));
    }
    server = new OpenAiServer("tiny", workers, ServeSettings.of(8, 1 << 16, 12).withApiKey("sekret"),
        new PrintStream(LOG, true, StandardCharsets.UTF_8));
    port = server.start("127.0.0.1", 0);
  }

  @AfterAll
  static void stop() {
    server.stop(1);
  }

  private static HttpResponse<String> post(int port, String path, String body, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> authed(String path, String body) throws Exception {
    return post(port, path, body, "Content-Type", "application/json", "Authorization", "Bearer sekret");
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JsonFiles.MAPPER.readTree(r.body());
  }

  private static JsonNode health(int port) throws Exception {
    return JsonFiles.MAPPER.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/health")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  /** Sends {@code request} as is and reads the answer until the server closes (or 10 s pass). */
  private static String raw(int port, String request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static final String HI = "{\"prompt\":\"hi\",\"max_tokens\":2,\"temperature\":0}";

  @Test
  void theApiKeyIsRequiredAndComparedAndHealthStaysOpen() throws Exception {
    HttpResponse<String> none = post(port, "/v1/completions", HI, "Content-Type", "application/json");
    assertEquals(401, none.statusCode(), none.body());
    assertEquals("invalid_api_key", json(none).at("/error/code").asText());
    assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
    HttpResponse<String> wrong = post(port, "/v1/completions", HI, "Content-Type", "application/json",
        "Authorization", "Bearer sekre");
    assertEquals(401, wrong.statusCode());
    assertEquals(401, post(port, "/tokenize", "{\"prompt\":\"a\"}", "Content-Type", "application/json")
        .statusCode(), "every route but /health needs the key");
    assertEquals(200, authed("/v1/completions", HI).statusCode());
    assertEquals("ok", health(port).get("status").asText());
    // a non-loopback bind without a key is refused before it binds
    OpenAiServer open = new OpenAiServer("x", List.of(new OpenAiServer.Worker(null, tok, 96)), 1, 1024, 4,
        new PrintStream(OutputStream.nullOutputStream()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open.start("0.0.0.0", 0));
    assertTrue(e.getMessage().contains("needs an API key"), e.getMessage());
  }

  @Test
  void onlyJsonInUtf8IsAcceptedAndBrowsersAndForeignHostsAreRefused() throws Exception {
    // a page's "simple" cross-site POST: text/plain, no preflight
    HttpResponse<String> plain = post(port, "/v1/completions", HI, "Content-Type", "text/plain",
        "Authorization", "Bearer sekret");
    assertEquals(415, plain.statusCode(), plain.body());
    assertEquals("unsupported_media_type", json(plain).at("/error/code").asText());
    assertEquals(415, post(port, "/v1/completions", HI, "Authorization", "Bearer sekret").statusCode());
    assertEquals(415, post(port, "/v1/completions", HI, "Authorization", "Bearer sekret", "Content-Type",
        "application/json; charset=utf-16").statusCode());
    HttpResponse<String> utf16 = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(HI, StandardCharsets.UTF_16))
        .header("Content-Type", "application/json").header("Authorization", "Bearer sekret").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(400, utf16.statusCode(), utf16.body());
    assertEquals("invalid_encoding", json(utf16).at("/error/code").asText());

    HttpResponse<String> page = post(port, "/v1/completions", HI, "Content-Type", "application/json",
        "Authorization", "Bearer sekret", "Origin", "http://evil.example");
    assertEquals(403, page.statusCode());
    assertEquals("origin_not_allowed", json(page).at("/error/code").asText());
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host
    String rebound = raw(port, "GET /health HTTP/1.1\r\nHost: evil.example:" + port + "\r\nConnection: close\r\n\r\n");
    assertTrue(rebound.startsWith("HTTP/1.1 403"), rebound);
    assertTrue(rebound.contains("host_not_allowed"), rebound);
    assertTrue(raw(port, "GET /health HTTP/1.1\r\nHost: localhost:" + port + "\r\nConnection: close\r\n\r\n")
        .startsWith("HTTP/1.1 200"));

    try (OpenAiServer listed = new OpenAiServer("tiny", List.of(new OpenAiServer.Worker(null, tok, 96)),
        ServeSettings.of(1, 4096, 4).withAllowedOrigins(Set.of("http://localhost:3000")),
        new PrintStream(OutputStream.nullOutputStream()))) {
      int p = listed.start("127.0.0.1", 0);
      HttpResponse<String> ok = post(p, "/tokenize", "{\"prompt\":\"Hello world\"}", "Content-Type",
          "application/json", "Origin", "http://localhost:3000");
      assertEquals(200, ok.statusCode(), ok.body());
      assertEquals("http://localhost:3000", ok.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
      assertEquals(List.of(15496, 995), List.of(json(ok).at("/tokens/0").asInt(), json(ok).at("/tokens/1").asInt()));
      String preflight = raw(p, "OPTIONS /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: "
          + "http://localhost:3000\r\nConnection: close\r\n\r\n");
      assertTrue(preflight.startsWith("HTTP/1.1 204") && preflight.toLowerCase().contains(
          "access-control-allow-headers: authorization, content-type"),
          preflight);
      HttpResponse<String> back = post(p, "/detokenize", "{\"tokens\":[15496,995]}", "Content-Type",
          "application/json");
      assertEquals("Hello world", json(back).get("prompt").asText());
    }
  }

  @Test
  void hugeNumbersStopsAndNestingAreRefusedWith400NotWorkOr500() throws Exception {
    HttpResponse<String> overflow = authed("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2147483647}");
    assertEquals(400, overflow.statusCode(), overflow.body());
    assertEquals("context_length_exceeded", json(overflow).at("/error/code").asText());
    assertTrue(json(overflow).at("/error/message").asText().contains("2147483648 were requested"),
        overflow.body());
    HttpResponse<String> longStop = authed("/v1/completions", "{\"prompt\":\"hi\",\"stop\":\"" + "x".repeat(5000)
        + "\"}");
    assertEquals(400, longStop.statusCode());
    assertEquals("stop", json(longStop).at("/error/param").asText());
    HttpResponse<String> manyStops = authed("/v1/completions", "{\"prompt\":\"hi\",\"stop\":[\"a\",\"b\",\"c\","
        + "\"d\",\"e\"]}");
    assertEquals(400, manyStops.statusCode());
    HttpResponse<String> deep = authed("/v1/completions", "[".repeat(5000) + "]".repeat(5000));
    assertEquals(400, deep.statusCode(), deep.body());
    assertEquals("invalid_json", json(deep).at("/error/code").asText());
    assertTrue(json(deep).at("/error/message").asText().contains("nesting depth"), deep.body());
    HttpResponse<String> manyPrompts = authed("/v1/completions", "{\"prompt\":" + JsonFiles.line(
        java.util.Collections.nCopies(65, "a")).strip() + "}");
    assertEquals(400, manyPrompts.statusCode());
    assertTrue(json(manyPrompts).at("/error/message").asText().contains("at most 64 prompts"));
    HttpResponse<String> tooMany = authed("/v1/chat/completions", "{\"messages\":[" + String.join(",", java.util
        .Collections.nCopies(513, "{\"role\":\"user\",\"content\":\"a\"}")) + "]}");
    assertEquals(400, tooMany.statusCode(), tooMany.body());
    assertEquals("messages", json(tooMany).at("/error/param").asText());
    HttpResponse<String> longPrompt = authed("/v1/completions", "{\"prompt\":\"" + "word ".repeat(200)
        + "\",\"max_tokens\":1}");
    assertEquals(400, longPrompt.statusCode(), longPrompt.body());
    assertTrue(json(longPrompt).at("/error/message").asText().contains("201 in the prompt"), longPrompt.body());
    HttpResponse<String> badId = authed("/v1/completions", "{\"prompt\":[1,50257]}");
    assertEquals(400, badId.statusCode());
    assertEquals("prompt", json(badId).at("/error/param").asText());
  }

  @Test
  void aFailureAnswers500WithAnIncidentIdAndTheLogGetsTheCauseOnOneEscapedLine() throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    OpenAiServer.Worker w = new OpenAiServer.Worker(TestGenerators.counting(tok, new AtomicInteger(), 0, 64,
        new IllegalStateException("secret /internal/path\nforged line")), tok, 64);
    try (OpenAiServer failing = new OpenAiServer("f", List.of(w), 1, 4096, 4, new PrintStream(log, true,
        StandardCharsets.UTF_8))) {
      int p = failing.start("127.0.0.1", 0);
      HttpResponse<String> r = post(p, "/v1/completions", HI, "Content-Type", "application/json");
      assertEquals(500, r.statusCode());
      assertFalse(r.body().contains("secret") || r.body().contains("IllegalState"), r.body());
      String incident = json(r).at("/error/message").asText().replaceAll(".*\\(incident (\\w+) .*", "$1");
      String logged = log.toString(StandardCharsets.UTF_8);
      assertTrue(logged.contains("incident " + incident + ": java.lang.IllegalStateException: secret "
          + "/internal/path\\nforged line"), logged);
      assertFalse(logged.contains("\nforged line"), "no raw newline from the message");
      // a path with a newline cannot forge a log line either
      String answer = raw(p, "GET /x%0aserve:%20GET%20/health%20200 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
          + "close\r\n\r\n");
      assertTrue(answer.startsWith("HTTP/1.1 404"), answer);
      for (int i = 0; i < 100 && !log.toString(StandardCharsets.UTF_8).contains(" 404 "); i++) {
        Thread.sleep(20); // the line is written once the answer is out
      }
      assertTrue(log.toString(StandardCharsets.UTF_8).contains("GET /x\\nserve: GET /health 200 404"),
          log.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("/x")).toList().toString());
    }
  }

  @Test
  void admissionComesBeforeParsingAndHealthReportsSaturation() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    Generator blocked = new Generator(new Generator.NextTokenLogits() {
      @Override
      public float[] next(int[] ctx) {
        started.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return new float[tok.vocabSize()];
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
    try (OpenAiServer busy = new OpenAiServer("b", List.of(new OpenAiServer.Worker(blocked, tok, 32)), 0, 4096, 2,
        new PrintStream(OutputStream.nullOutputStream()))) {
      int p = busy.start("127.0.0.1", 0);
      var running = HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + "/v1/completions"))
          .POST(HttpRequest.BodyPublishers.ofString(HI)).header("Content-Type", "application/json").build(),
          HttpResponse.BodyHandlers.ofString());
      assertTrue(started.await(30, TimeUnit.SECONDS));
      JsonNode h = health(p);
      assertEquals("saturated", h.get("status").asText());
      assertEquals(0, h.get("free_places").asInt());
      // not even parsed: invalid JSON while the server is full is a 429, not a 400
      HttpResponse<String> r = post(p, "/v1/completions", "{not json", "Content-Type", "application/json");
      assertEquals(429, r.statusCode(), r.body());
      release.countDown();
      assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
      assertEquals("ok", health(p).get("status").asText());
      assertEquals(1, health(p).get("free_places").asInt());
    }
  }

  @Test
  void aClientThatNeverFinishesItsHeadersIsDroppedAndOthersAreStillServed() throws Exception {
    assertEquals("4", System.getProperty(OpenAiServer.READ_TIMEOUT_PROPERTY), "pom.xml sets the read timeout");
    List<Socket> slow = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < 70; i++) { // more than the 64 connection threads
      Socket s = new Socket("127.0.0.1", port);
      s.getOutputStream().write("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(
          StandardCharsets.UTF_8));
      s.setSoTimeout(200);
      slow.add(s);
    }
    // The legitimate request queues behind the slow ones for a connection thread; when the read timeout's clock
    // ticks, the JDK server may close it together with them (it too has not finished a request in time). A real
    // client retries a dropped connection, and so does this one; it must be served well within the deadline.
    HttpResponse<String> meanwhile = null;
    int attempts = 0;
    while (meanwhile == null) {
      attempts++;
      try {
        meanwhile = authed("/v1/completions", HI);
      } catch (java.io.IOException dropped) {
        assertTrue(attempts < 3 && System.nanoTime() - t0 < 12_000_000_000L,
            "attempt " + attempts + " dropped as well: " + dropped);
      }
    }
    assertEquals(200, meanwhile.statusCode(), "served, at the latest once the read timeout frees threads");
    int closed = 0;
    while (closed < slow.size() && System.nanoTime() - t0 < 12_000_000_000L) {
      closed = 0;
      for (Socket s : slow) {
        try {
          s.getOutputStream().write("X-Drip: 1\r\n".getBytes(StandardCharsets.UTF_8)); // keeps dripping
          InputStream in = s.getInputStream();
          closed += in.read() == -1 ? 1 : 0;
        } catch (SocketTimeoutException e) {
          // still open
        } catch (java.io.IOException e) {
          closed++;
        }
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(slow.size(), closed, "every dripping client was dropped");
    assertTrue(seconds < 12, "within the 4 s read timeout and its 1 s clock: " + seconds);
    for (Socket s : slow) {
      s.close();
    }
  }

  @Test
  void seventeenParallelMaxLengthRequestsThenClosedLeaveTheServerWhole() throws Exception {
    String body = "{\"prompt\":\"" + "word ".repeat(40) + "\",\"max_tokens\":50,\"temperature\":0}";
    List<Socket> clients = new ArrayList<>();
    for (int i = 0; i < 17; i++) {
      Socket c = new Socket("127.0.0.1", port);
      String stream = i % 2 == 0 ? body : body.replace("}", ",\"stream\":true}");
      c.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
          + "application/json\r\nAuthorization: Bearer sekret\r\nContent-Length: " + stream.length() + "\r\n\r\n"
          + stream).getBytes(StandardCharsets.UTF_8));
      clients.add(c);
    }
    Thread.sleep(100);
    for (Socket c : clients) {
      c.close();
    }
    long t0 = System.nanoTime();
    while (health(port).get("free_places").asInt() < 10 && System.nanoTime() - t0 < 30_000_000_000L) {
      Thread.sleep(50);
    }
    JsonNode h = health(port);
    assertEquals(10, h.get("free_places").asInt(), h.toString());
    assertEquals(0, h.get("running").asInt());
    HttpResponse<String> after = authed("/v1/completions", HI);
    assertEquals(200, after.statusCode(), after.body());
  }
}
