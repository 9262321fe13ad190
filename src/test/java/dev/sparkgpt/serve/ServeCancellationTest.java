package dev.sparkgpt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Work a request must stop doing: its client went away (streaming or not), stopped reading, or its deadline
 * passed. Each case frees the worker, which the next request proves; the generators sleep per token and count
 * them, so "stopped early" is a number.
 */
class ServeCancellationTest {
  private static final Tokenizer TOK = Tokenizers.load("gpt2");
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String HI = "{\"prompt\":\"hi\",\"max_tokens\":2,\"temperature\":0}";
  private static final String LONG = "{\"prompt\":\"a\",\"max_tokens\":1000,\"temperature\":0%s}";

  /** A server of one worker generating a token every 5 ms (1000 tokens: 5 s). */
  private static OpenAiServer slowServer(AtomicInteger tokens, ServeSettings settings, ByteArrayOutputStream log) {
    return new OpenAiServer("c", List.of(new OpenAiServer.Worker(TestGenerators.counting(TOK, tokens, 5, 2048, null),
        TOK, 2048)), settings, new PrintStream(log, true, StandardCharsets.UTF_8));
  }

  private static HttpResponse<String> post(int port, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode health(int port) throws Exception {
    return JsonFiles.MAPPER.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/health")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  /** A raw client that sends {@code body} to /v1/completions and keeps the connection open. */
  private static Socket send(int port, String body) throws Exception {
    Socket c = new Socket("127.0.0.1", port);
    c.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        + "application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(
        StandardCharsets.UTF_8));
    c.setSoTimeout(10_000);
    return c;
  }

  /** Waits (at most 10 s) until no worker runs; then checks the generation stopped early and the worker serves. */
  private static void assertFreedEarly(int port, AtomicInteger tokens) throws Exception {
    long t0 = System.nanoTime();
    while (health(port).get("running").asInt() > 0 && System.nanoTime() - t0 < 10_000_000_000L) {
      Thread.sleep(20);
    }
    assertEquals(0, health(port).get("running").asInt());
    assertTrue(tokens.get() < 500, "generation stopped early: " + tokens.get() + " of 1000 tokens");
    assertEquals(200, post(port, HI).statusCode(), "the worker answers the next client");
  }

  @Test
  void aStreamingClientThatGoesAwayStopsItsGenerationAndFreesTheWorker() throws Exception {
    AtomicInteger tokens = new AtomicInteger();
    try (OpenAiServer s = slowServer(tokens, ServeSettings.of(0, 4096, 4), new ByteArrayOutputStream())) {
      int p = s.start("127.0.0.1", 0);
      try (Socket c = send(p, LONG.formatted(",\"stream\":true"))) {
        assertTrue(c.getInputStream().read(new byte[200]) > 0);
      } // gone after the first bytes
      assertFreedEarly(p, tokens);
    }
  }

  @Test
  void aNonStreamingClientThatGoesAwayStopsItsGenerationAndFreesTheWorker() throws Exception {
    assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "the kernel's TCP table (Linux) tells a closed client");
    AtomicInteger tokens = new AtomicInteger();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (OpenAiServer s = slowServer(tokens, ServeSettings.of(0, 4096, 4), log)) {
      int p = s.start("127.0.0.1", 0);
      try (Socket c = send(p, LONG.formatted(""))) {
        long t0 = System.nanoTime();
        while (tokens.get() == 0 && System.nanoTime() - t0 < 10_000_000_000L) {
          Thread.sleep(10);
        }
        assertTrue(tokens.get() > 0, "generating");
      } // gone before any byte of the answer
      assertFreedEarly(p, tokens);
      assertTrue(log.toString(StandardCharsets.UTF_8).contains("POST /v1/completions 499"),
          log.toString(StandardCharsets.UTF_8));
    }
  }

  /**
   * A real stream reader that reads nothing: a 4 KB receive window, the server's socket buffer, then the 256-event
   * buffer fill, the worker's next event waits out the stall limit and its generation is cancelled.
   */
  @Test
  void aStreamReaderThatReadsNothingIsCutOffAndItsWorkerFreed() throws Exception {
    AtomicInteger tokens = new AtomicInteger();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (OpenAiServer s = new OpenAiServer("c", List.of(new OpenAiServer.Worker(TestGenerators.counting(TOK, tokens,
        0, 1 << 20, null), TOK, 1 << 20)), ServeSettings.of(0, 4096, 4).withTimeouts(60_000, 300),
        new PrintStream(log, true, StandardCharsets.UTF_8))) {
      int p = s.start("127.0.0.1", 0);
      try (Socket c = new Socket()) {
        c.setReceiveBufferSize(4096);
        c.connect(new InetSocketAddress("127.0.0.1", p));
        String body = "{\"prompt\":\"a\",\"max_tokens\":1000000,\"temperature\":0,\"stream\":true}";
        c.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            + "application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(
            StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        while (tokens.get() == 0 || health(p).get("running").asInt() > 0) {
          assertTrue(System.nanoTime() - t0 < 60_000_000_000L, "still generating: " + tokens.get() + " tokens");
          Thread.sleep(50);
        }
        assertTrue(tokens.get() < 1_000_000, tokens.get() + " tokens");
        for (int i = 0; i < 100 && !log.toString(StandardCharsets.UTF_8).contains("stopped reading"); i++) {
          Thread.sleep(50); // the connection thread logs once the watchdog has cut its write off
        }
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("the client stopped reading"),
            log.toString(StandardCharsets.UTF_8));
      }
      assertEquals(200, post(p, HI).statusCode(), "the worker and the connection thread answer the next client");
    }
  }

  @Test
  void theDeadlineAnswers504OrAnErrorEventAndFreesTheWorker() throws Exception {
    AtomicInteger tokens = new AtomicInteger();
    try (OpenAiServer s = slowServer(tokens, ServeSettings.of(0, 4096, 4).withTimeouts(400, 30_000),
        new ByteArrayOutputStream())) {
      int p = s.start("127.0.0.1", 0);
      long t0 = System.nanoTime();
      HttpResponse<String> r = post(p, LONG.formatted(""));
      assertEquals(504, r.statusCode(), r.body());
      assertEquals("request_timeout", JsonFiles.MAPPER.readTree(r.body()).at("/error/code").asText());
      assertTrue((System.nanoTime() - t0) / 1e9 < 3, "answered at the deadline, not after 1000 tokens");
      assertFreedEarly(p, tokens);

      tokens.set(0);
      String events = post(p, LONG.formatted(",\"stream\":true")).body();
      List<String> data = events.lines().filter(l -> l.startsWith("data: ")).toList();
      assertEquals("data: [DONE]", data.get(data.size() - 1));
      assertTrue(data.get(data.size() - 2).contains("\"code\":\"request_timeout\""), events);
      assertFreedEarly(p, tokens);
    }
  }

  @Test
  void aStreamWhoseWorkerSawTheDeadlineFirstStillEndsWithTheTimeoutEvent() throws Exception {
    // the worker checks the deadline between tokens and may stop (ending its stream) before the connection thread
    // notices the deadline itself: the client must still get the error event, not a clean [DONE]
    Cancellation cancel = new Cancellation(30_000);
    SseStream sse = new SseStream(cancel, 300);
    sse.send(java.util.Map.of("text", "a"));
    cancel.cancel("deadline");
    sse.end();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (WriteWatchdog watchdog = new WriteWatchdog(300)) {
      assertEquals("deadline", sse.drain(out, watchdog));
    }
    List<String> data = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("data: ")).toList();
    assertEquals(3, data.size(), data.toString());
    assertTrue(data.get(1).contains("\"code\":\"request_timeout\""), data.toString());
    assertEquals("data: [DONE]", data.get(2));
  }

  @Test
  void theKernelsTableTellsAnOpenConnectionFromAClosedOne() throws Exception {
    assumeTrue(java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN, "the fixtures are x86/ARM's");
    assertEquals(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080),
        ClientConnection.address("0100007F:1F90"));
    assertEquals(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 443),
        ClientConnection.address("0000000000000000FFFF00000100007F:01BB"), "IPv4-mapped IPv6 is IPv4");
    assertNull(ClientConnection.address("zz:1"));
    assertEquals(ClientConnection.State.UNKNOWN, new ClientConnection(new InetSocketAddress(1), new
        InetSocketAddress(2), List.of(Path.of("/nonexistent/tcp"))).state(), "no table: nothing is cancelled");

    // a table read before a connection was accepted is not trusted for it, however fresh (it cannot list it)
    Path table = Files.createTempFile("tcp", "");
    String header = "  sl  local_address rem_address   st\n";
    String listening = "   0: 0100007F:1F90 00000000:0000 0A\n";
    List<Path> tables = List.of(table);
    InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080);
    InetSocketAddress peer = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 40000);
    Files.writeString(table, header + listening);
    assertEquals(ClientConnection.State.GONE, new ClientConnection(server, peer, tables).state(), "reset");
    Files.writeString(table, header + listening + "   1: 0100007F:1F90 0100007F:9C40 01\n");
    ClientConnection watched = new ClientConnection(server, peer, tables);
    assertEquals(ClientConnection.State.OPEN, watched.state(), "read again: established");
    Files.writeString(table, header + listening + "   1: 0100007F:1F90 0100007F:9C40 08\n");
    assertEquals(ClientConnection.State.OPEN, watched.state(), "within 100 ms the shared reading answers");
    Thread.sleep(150);
    assertEquals(ClientConnection.State.GONE, watched.state(), "CLOSE_WAIT: the client sent FIN");
    Files.delete(table);

    assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "Linux");
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
      try (Socket accepted = listener.accept()) {
        ClientConnection seen = new ClientConnection((InetSocketAddress) accepted.getLocalSocketAddress(),
            (InetSocketAddress) accepted.getRemoteSocketAddress());
        assertEquals(ClientConnection.State.OPEN, seen.state());
        client.close();
        long t0 = System.nanoTime();
        while (seen.state() != ClientConnection.State.GONE && System.nanoTime() - t0 < 2_000_000_000L) {
          Thread.sleep(10);
        }
        assertEquals(ClientConnection.State.GONE, seen.state());
      }
    }
  }

  /**
   * A stream reader that stops reading: its socket fills (here: a write that blocks, as on a full socket whose
   * kernel buffers, megabytes on loopback, a tiny test cannot fill in seconds), the event buffer fills, the worker's
   * next event cancels the generation, and the watchdog interrupts the blocked write, freeing the connection thread.
   */
  @Test
  void aStreamReaderThatStopsReadingCancelsTheGenerationAndFreesTheWriter() throws Exception {
    Cancellation cancel = new Cancellation(60_000);
    SseStream sse = new SseStream(cancel, 300);
    CountDownLatch never = new CountDownLatch(1);
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) throws java.io.IOException {
        try {
          never.await();
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException("interrupted (a socket channel closes here)");
        }
      }
    };
    java.util.concurrent.CompletableFuture<Throwable> writer = new java.util.concurrent.CompletableFuture<>();
    try (WriteWatchdog watchdog = new WriteWatchdog(300)) {
      Thread t = new Thread(() -> {
        try {
          sse.drain(stuck, watchdog);
          writer.complete(null);
        } catch (Throwable e) {
          writer.complete(e);
        }
      });
      t.start();
      long t0 = System.nanoTime();
      int sent = 0;
      Cancellation.Cancelled stopped = null;
      try {
        while (sent < 100_000) {
          sse.send(java.util.Map.of("n", sent));
          sent++;
        }
      } catch (Cancellation.Cancelled e) {
        stopped = e;
      }
      assertTrue(stopped != null, "the worker was stopped");
      assertEquals("the client stopped reading", cancel.reason());
      assertEquals(SseStream.CAPACITY + 1, sent, "one event in the stuck write, the buffer full, then cut off");
      assertTrue(writer.get(5, TimeUnit.SECONDS) instanceof java.io.InterruptedIOException, "the writer was freed");
      assertTrue((System.nanoTime() - t0) / 1e9 < 3);
      assertFalse(Thread.currentThread().isInterrupted());
    }
  }
}
