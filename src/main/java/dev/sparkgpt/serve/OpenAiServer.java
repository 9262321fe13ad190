package dev.sparkgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sparkgpt.eval.ScoringModel;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An OpenAI-compatible HTTP server over one model ({@code sparkgpt serve}): {@code POST /v1/completions},
 * {@code POST /v1/chat/completions} (both with {@code stream} as server-sent events), {@code GET /v1/models},
 * {@code GET /health}, and vLLM's {@code POST /tokenize} and {@code /detokenize}. A model computes one request at a
 * time, so each of the {@code workers} (its own model instance) takes requests from a bounded queue
 * ({@link Admission}); a request that finds the queue full is answered 429 before its body is read. A worker counts
 * as free again as soon as its generation ends, before the last bytes of its response are written.
 *
 * <p>Every request first passes the {@link RequestGuard} (Host, Origin, API key, media type). Nothing is unbounded:
 * connection threads ({@link ServeSettings#connectionThreads}), the time to send headers and body (the JDK server's
 * {@code sun.net.httpserver.maxReqTime}, {@link #READ_TIMEOUT_PROPERTY}), each request's deadline, each response
 * write ({@link WriteWatchdog}), the events buffered for a slow stream reader ({@link SseStream}), and every list a
 * request may hold ({@link CompletionRequest}). A failure answers 500 with an incident id; the cause goes to the log.
 *
 * <p>Chat messages become the instruction format the model was finetuned on (the workers' {@link InstructionTemplate},
 * read from the checkpoint; Alpaca unless its instruct finetune set another {@code data.template}): the last user
 * message is the instruction, earlier pairs are kept before it as history as long as they fit, and system messages
 * replace the template's preamble. Generation stops at end-of-text, at a stop string, at the template's stop, or
 * after {@code max_tokens}.
 */
public final class OpenAiServer implements AutoCloseable {
  /**
   * The JDK server drops a connection whose request line, headers and body have not all arrived this many seconds
   * after it started sending them (slowloris). JVM-wide and read once, when the first server of the JVM starts:
   * {@code serve} sets it from --read-timeout, and 30 s when nothing set it.
   */
  public static final String READ_TIMEOUT_PROPERTY = "sun.net.httpserver.maxReqTime";
  /** How often a non-streaming request's connection is looked at while its answer is computed. */
  static final long PROBE_MILLIS = 250;

  static {
    if (System.getProperty(READ_TIMEOUT_PROPERTY) == null) {
      System.setProperty(READ_TIMEOUT_PROPERTY, "30");
    }
  }

  /**
   * One model instance with its generator, chat format and scorer (for logprobs and echo; null: requests for them
   * get 400); used by one request at a time.
   */
  public record Worker(Generator generator, Tokenizer tokenizer, int contextLength, InstructionTemplate template,
      ScoringModel scorer) {
    /** A worker chatting in {@code template}, without logprobs. */
    public Worker(Generator generator, Tokenizer tokenizer, int contextLength, InstructionTemplate template) {
      this(generator, tokenizer, contextLength, template, null);
    }

    /** A worker chatting in the Alpaca format, without logprobs. */
    public Worker(Generator generator, Tokenizer tokenizer, int contextLength) {
      this(generator, tokenizer, contextLength, InstructionTemplate.ALPACA, null);
    }
  }

  private final String modelName;
  private final ServeSettings settings;
  private final Admission admission;
  private final Completions completions;
  private final RequestLog log;
  private final long created = System.currentTimeMillis() / 1000;
  private final WriteWatchdog watchdog;
  private RequestGuard guard;
  private HttpServer server;
  private ThreadPoolExecutor connections;

  /** A server with {@link ServeSettings#of}'s defaults: no key, no origins, loopback only. */
  public OpenAiServer(String modelName, List<Worker> workers, int queueCapacity, int maxRequestBytes,
      int defaultMaxTokens, PrintStream log) {
    this(modelName, workers, ServeSettings.of(queueCapacity, maxRequestBytes, defaultMaxTokens), log);
  }

  /** @param log one line per request (method, path, status, time, token counts; never the text) */
  public OpenAiServer(String modelName, List<Worker> workers, ServeSettings settings, PrintStream log) {
    this.modelName = modelName;
    this.settings = settings;
    this.admission = new Admission(workers, settings.queueCapacity());
    this.completions = new Completions(modelName, workers.get(0), settings.defaultMaxTokens());
    this.log = new RequestLog(log);
    this.watchdog = new WriteWatchdog(settings.stallMillis());
  }

  /**
   * Binds {@code host:port} (port 0 = any free one) and starts answering; returns the bound port. A non-loopback
   * address needs an API key.
   */
  public int start(String host, int port) throws IOException {
    InetSocketAddress address = new InetSocketAddress(host, port);
    boolean loopback = address.getAddress() != null && address.getAddress().isLoopbackAddress();
    if (!loopback && settings.apiKey() == null) {
      throw new IllegalArgumentException("serving on " + host + " (not a loopback address) needs an API key: "
          + "--api-key KEY or SPARKGPT_API_KEY");
    }
    guard = new RequestGuard(settings.apiKey(), settings.allowedOrigins(), loopback, settings.maxRequestBytes());
    server = HttpServer.create(address, 64);
    int threads = Math.max(settings.connectionThreads(), admission.workers() + settings.queueCapacity() + 8);
    // bounded threads and backlog; a connection beyond both is dropped, and the read timeout closes it
    connections = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(
        4 * threads), r -> {
          Thread t = new Thread(r, "serve-http");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
    connections.allowCoreThreadTimeOut(true);
    server.setExecutor(connections);
    server.createContext("/", this::handle);
    server.start();
    return server.getAddress().getPort();
  }

  /** The address the server listens on (after {@link #start}). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops accepting, lets running and queued requests finish (up to {@code graceSeconds}), then stops. */
  public void stop(int graceSeconds) {
    if (server != null) {
      server.stop(0);
    }
    admission.shutdown(graceSeconds);
    if (connections != null) {
      connections.shutdownNow();
    }
    watchdog.close();
  }

  @Override
  public void close() {
    stop(5);
  }

  private void handle(HttpExchange ex) {
    long start = System.nanoTime();
    String path = ex.getRequestURI().getPath();
    String method = ex.getRequestMethod();
    try {
      guard.admit(ex, path.equals("/health") || method.equals("OPTIONS"));
      if (method.equals("OPTIONS")) { // a CORS preflight from an allowed origin
        ex.getResponseHeaders().set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        ex.getResponseHeaders().set("Access-Control-Allow-Headers", "Authorization, Content-Type");
        ex.getResponseHeaders().set("Access-Control-Max-Age", "600");
        noContent(ex, start);
        return;
      }
      switch (path) {
        case "/health" -> {
          allow(ex, "GET");
          Map<String, Object> health = admission.health();
          health.put("model", modelName);
          json(ex, 200, health, start, "");
        }
        case "/v1/models" -> {
          allow(ex, "GET");
          json(ex, 200, Map.of("object", "list", "data", List.of(modelEntry())), start, "");
        }
        case "/tokenize" -> {
          allow(ex, "POST");
          json(ex, 200, completions.tokenize(guard.body(ex)), start, "");
        }
        case "/detokenize" -> {
          allow(ex, "POST");
          json(ex, 200, completions.detokenize(guard.body(ex)), start, "");
        }
        case "/v1/completions", "/v1/chat/completions" -> {
          allow(ex, "POST");
          complete(ex, path.equals("/v1/chat/completions"), start);
        }
        default -> {
          if (path.startsWith("/v1/models/") && path.substring(11).equals(modelName)) {
            allow(ex, "GET");
            json(ex, 200, modelEntry(), start, "");
          } else {
            throw new ApiError(404, "invalid_request_error", null, "not_found", "no route " + method + " "
                + RequestLog.printable(path) + "; this server answers /v1/completions, /v1/chat/completions, /v1/models, "
                + "/tokenize, /detokenize, /health");
          }
        }
      }
    } catch (ApiError e) {
      if (e.status() == 429) {
        ex.getResponseHeaders().set("Retry-After", "1");
      }
      json(ex, e.status(), e.body(), start, "");
    } catch (RuntimeException e) {
      json(ex, 500, log.incident(e).body(), start, "");
    }
  }

  private Map<String, Object> modelEntry() {
    return Map.of("id", modelName, "object", "model", "created", created, "owned_by", "sparkgpt");
  }

  private static void allow(HttpExchange ex, String method) {
    if (!ex.getRequestMethod().equals(method)) {
      ex.getResponseHeaders().set("Allow", method);
      throw new ApiError(405, "invalid_request_error", null, "method_not_allowed", RequestLog.printable(ex.getRequestMethod())
          + " " + RequestLog.printable(ex.getRequestURI().getPath()) + " is not supported; use " + method);
    }
  }

  /** Takes a place (429 when none), then reads, checks and runs the request; the place goes back on any failure. */
  private void complete(HttpExchange ex, boolean chat, long start) {
    admission.tryEnter();
    boolean submitted = false;
    try {
      CompletionRequest request = CompletionRequest.parse(guard.body(ex), chat);
      Completions.Prepared prepared = completions.prepare(request);
      Cancellation cancel = new Cancellation(settings.requestTimeoutMillis());
      if (request.stream()) {
        SseStream sse = new SseStream(cancel, settings.stallMillis());
        String[] note = {""};
        admission.submit(lease -> {
          try {
            cancel.check();
            note[0] = completions.stream(prepared, lease, sse);
          } catch (Cancellation.Cancelled c) {
            note[0] = "cancelled: " + c.getMessage();
          } catch (ApiError e) {
            sendQuietly(sse, e.body());
          } catch (RuntimeException e) {
            sendQuietly(sse, log.incident(e).body());
          } finally {
            lease.release();
            sse.end();
          }
        });
        submitted = true;
        stream(ex, sse, cancel, start, note);
        return;
      }
      CompletableFuture<Map<String, Object>> result = new CompletableFuture<>();
      admission.submit(lease -> {
        try {
          cancel.check(); // cut off while it waited in the queue
          result.complete(completions.answer(prepared, lease, cancel));
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
      submitted = true;
      Map<String, Object> body = await(result, cancel, new ClientConnection(ex.getLocalAddress(),
          ex.getRemoteAddress()));
      if (body == null) {
        log.line(ex, 499, start, "client went away: generation stopped");
        ex.close();
        return;
      }
      Map<?, ?> usage = (Map<?, ?>) body.get("usage");
      json(ex, 200, body, start, Completions.tokens((Integer) usage.get("prompt_tokens"),
          (Integer) usage.get("completion_tokens")));
    } finally {
      if (!submitted) {
        admission.leave();
      }
    }
  }

  /**
   * The answer, waited for in steps of {@link #PROBE_MILLIS} between which the client's connection is looked at;
   * null when the client went away (its generation is then cancelled at its next token).
   */
  private Map<String, Object> await(CompletableFuture<Map<String, Object>> result, Cancellation cancel,
      ClientConnection client) {
    try {
      while (true) {
        try {
          return result.get(Math.max(1, Math.min(PROBE_MILLIS, cancel.remainingMillis())), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          if (cancel.remainingMillis() <= 0) {
            cancel.cancel("deadline");
            throw ApiError.timeout();
          }
          if (client.state() == ClientConnection.State.GONE) {
            cancel.cancel("the client went away");
            return null;
          }
        }
      }
    } catch (InterruptedException e) {
      cancel.cancel("the server is stopping");
      Thread.currentThread().interrupt();
      throw new ApiError(503, "server_error", null, "shutting_down", "the server is stopping; retry later");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ApiError api) {
        throw api;
      }
      if (e.getCause() instanceof Cancellation.Cancelled) {
        throw ApiError.timeout();
      }
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  private static void sendQuietly(SseStream sse, Map<String, Object> body) {
    try {
      sse.send(body);
    } catch (Cancellation.Cancelled ignored) {
      // the client is gone or too slow: nobody reads the error either
    }
  }

  private void stream(HttpExchange ex, SseStream sse, Cancellation cancel, long start, String[] note) {
    try (WriteWatchdog.Watch headers = watchdog.watch()) {
      ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
      ex.getResponseHeaders().set("Cache-Control", "no-cache");
      ex.sendResponseHeaders(200, 0);
    } catch (IOException e) {
      cancel.cancel("the client went away");
      log.line(ex, 499, start, "client went away");
      ex.close();
      return;
    }
    OutputStream out = ex.getResponseBody();
    try {
      String early = sse.drain(out, watchdog);
      if (early == null) {
        try (WriteWatchdog.Watch end = watchdog.watch()) {
          out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
          out.close();
        }
      }
      log.line(ex, 200, start, (early == null ? note[0] : "cut off: " + early) + " streamed");
    } catch (IOException e) {
      log.line(ex, 499, start, "client went away: " + cancel.reason());
    } finally {
      ex.close();
    }
  }

  private void noContent(HttpExchange ex, long start) {
    try {
      ex.sendResponseHeaders(204, -1);
      log.line(ex, 204, start, "");
    } catch (IOException e) {
      log.line(ex, 499, start, "client went away");
    } finally {
      ex.close();
    }
  }

  private void json(HttpExchange ex, int status, Object body, long start, String note) {
    byte[] bytes = JsonFiles.line(body).getBytes(StandardCharsets.UTF_8);
    try (WriteWatchdog.Watch write = watchdog.watch()) {
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
      log.line(ex, status, start, note);
    } catch (IOException e) {
      log.line(ex, 499, start, "client went away");
    } finally {
      ex.close();
    }
  }
}
