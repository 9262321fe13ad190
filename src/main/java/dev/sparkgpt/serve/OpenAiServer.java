package dev.sparkgpt.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sparkgpt.generate.ChatSession;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An OpenAI-compatible HTTP server over one model ({@code sparkgpt serve}): {@code POST /v1/completions},
 * {@code POST /v1/chat/completions} (both with {@code stream} as server-sent events), {@code GET /v1/models},
 * {@code GET /health}. A model computes one request at a time, so each of the {@code workers} (its own model
 * instance) takes requests from a bounded queue; a request that finds the queue full is answered 429 at once. A
 * queue of 0 means no request waits: 429 whenever every worker is busy. A worker counts as free again as soon as its
 * generation ends, before the last bytes of its response are written, so a client that sends its next request on
 * receiving an answer never finds its own previous request still holding the worker.
 *
 * <p>Chat messages become the instruction format the model was finetuned on (the workers' {@link InstructionTemplate},
 * read from the checkpoint; Alpaca unless its instruct finetune set another {@code data.template}):
 * the last user message is the instruction, earlier user/assistant pairs are kept before it as history as long as
 * they fit the context with {@code max_tokens} to spare (oldest dropped first, as {@link ChatSession} does), and
 * system messages replace the template's preamble. Generation stops at end-of-text, at a stop string, at the
 * template's stop (chat: the next "### " section header for Alpaca), or after {@code max_tokens}.
 */
public final class OpenAiServer implements AutoCloseable {
  /** One model instance with its generator and chat format; used by one request at a time. */
  public record Worker(Generator generator, Tokenizer tokenizer, int contextLength, InstructionTemplate template) {
    /** A worker chatting in the Alpaca format. */
    public Worker(Generator generator, Tokenizer tokenizer, int contextLength) {
      this(generator, tokenizer, contextLength, InstructionTemplate.ALPACA);
    }
  }

  private final String modelName;
  private final BlockingQueue<Worker> idle;
  private final Tokenizer tokenizer;
  private final int contextLength;
  private final InstructionTemplate template;
  private final ThreadPoolExecutor executor;
  /** Requests running or waiting: one permit per worker plus one per queue place. */
  private final Semaphore admitted;
  private final int queueCapacity;
  private final int maxRequestBytes;
  private final int defaultMaxTokens;
  private final PrintStream log;
  private final long created = System.currentTimeMillis() / 1000;
  private final SecureRandom seeds = new SecureRandom();
  private HttpServer server;
  private ExecutorService connections;

  /**
   * @param workers one per model instance (≥ 1)
   * @param queueCapacity requests waiting for a worker before 429 (0: none wait, 429 whenever all workers are busy)
   * @param maxRequestBytes larger bodies get 413
   * @param defaultMaxTokens max_tokens when a request has none (cut to what the context leaves)
   * @param log one line per request (method, path, status, time, token counts; never the text)
   */
  public OpenAiServer(String modelName, List<Worker> workers, int queueCapacity, int maxRequestBytes,
      int defaultMaxTokens, PrintStream log) {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("a server needs at least one worker");
    }
    if (queueCapacity < 0) {
      throw new IllegalArgumentException("queue capacity must be ≥ 0, got " + queueCapacity);
    }
    this.modelName = modelName;
    this.idle = new LinkedBlockingQueue<>(workers);
    this.tokenizer = workers.get(0).tokenizer(); // every worker is an instance of the same model
    this.contextLength = workers.get(0).contextLength();
    this.template = workers.get(0).template();
    this.queueCapacity = queueCapacity;
    this.maxRequestBytes = maxRequestBytes;
    this.defaultMaxTokens = defaultMaxTokens;
    this.log = log;
    this.admitted = new Semaphore(workers.size() + queueCapacity);
    // unbounded: the permits bound it (a task whose worker is already free may wait a moment for its thread)
    this.executor = new ThreadPoolExecutor(workers.size(), workers.size(), 0, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "serve-model");
          t.setDaemon(true);
          return t;
        });
  }

  /** Binds {@code host:port} (port 0 = any free one) and starts answering; returns the bound port. */
  public int start(String host, int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 64);
    connections = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "serve-http");
      t.setDaemon(true);
      return t;
    });
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
    executor.shutdown();
    try {
      executor.awaitTermination(graceSeconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
    if (connections != null) {
      connections.shutdownNow();
    }
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
      switch (path) {
        case "/health" -> {
          allow(ex, "GET");
          Map<String, Object> health = new LinkedHashMap<>();
          health.put("status", "ok");
          health.put("model", modelName);
          health.put("workers", executor.getCorePoolSize());
          health.put("running", executor.getActiveCount());
          health.put("queued", executor.getQueue().size());
          health.put("queue_capacity", queueCapacity);
          json(ex, 200, health, start, "");
        }
        case "/v1/models" -> {
          allow(ex, "GET");
          json(ex, 200, Map.of("object", "list", "data", List.of(modelEntry())), start, "");
        }
        case "/v1/completions", "/v1/chat/completions" -> {
          allow(ex, "POST");
          submit(ex, CompletionRequest.parse(body(ex), path.contains("chat")), start);
        }
        default -> {
          if (path.startsWith("/v1/models/") && path.substring(11).equals(modelName)) {
            allow(ex, "GET");
            json(ex, 200, modelEntry(), start, "");
          } else {
            throw new ApiError(404, "invalid_request_error", null, "not_found", "no route " + method + " " + path
                + "; this server answers /v1/completions, /v1/chat/completions, /v1/models, /health");
          }
        }
      }
    } catch (ApiError e) {
      json(ex, e.status(), e.body(), start, "");
    } catch (RuntimeException e) {
      json(ex, 500, new ApiError(500, "server_error", null, null, e.toString()).body(), start, "");
    }
  }

  private Map<String, Object> modelEntry() {
    return Map.of("id", modelName, "object", "model", "created", created, "owned_by", "sparkgpt");
  }

  private static void allow(HttpExchange ex, String method) {
    if (!ex.getRequestMethod().equals(method)) {
      ex.getResponseHeaders().set("Allow", method);
      throw new ApiError(405, "invalid_request_error", null, "method_not_allowed", ex.getRequestMethod() + " "
          + ex.getRequestURI().getPath() + " is not supported; use " + method);
    }
  }

  private JsonNode body(HttpExchange ex) {
    String length = ex.getRequestHeaders().getFirst("Content-Length");
    if (length != null && length.matches("\\d+") && Long.parseLong(length) > maxRequestBytes) {
      throw tooLarge();
    }
    byte[] bytes;
    try (InputStream in = ex.getRequestBody()) {
      bytes = in.readNBytes(maxRequestBytes + 1);
    } catch (IOException e) {
      throw new ApiError(400, "invalid_request_error", null, null, "could not read the request body: " + e);
    }
    if (bytes.length > maxRequestBytes) {
      throw tooLarge();
    }
    try {
      return JsonFiles.MAPPER.readTree(bytes);
    } catch (IOException e) {
      String detail = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
      throw new ApiError(400, "invalid_request_error", null, "invalid_json", "the body is not valid JSON: "
          + detail);
    }
  }

  private ApiError tooLarge() {
    return new ApiError(413, "invalid_request_error", null, "request_too_large", "the request body exceeds "
        + maxRequestBytes + " bytes (serve --max-request-bytes)");
  }

  /** Checks the model and the token budget here (a quick 4xx), then queues the generation (429 when full). */
  private void submit(HttpExchange ex, CompletionRequest request, long start) {
    if (request.model() != null && !request.model().equals(modelName)) {
      throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "the model '" + request.model()
          + "' does not exist; this server serves '" + modelName + "'");
    }
    Prepared prepared = prepare(request, tokenizer, contextLength);
    if (!admitted.tryAcquire()) {
      ApiError busy = new ApiError(429, "rate_limit_exceeded", null, "queue_full", "the server is busy ("
          + executor.getCorePoolSize() + " running, " + queueCapacity + " queued); retry later");
      ex.getResponseHeaders().set("Retry-After", "1");
      json(ex, 429, busy.body(), start, "");
      return;
    }
    try {
      executor.execute(() -> {
        Lease lease = new Lease(idle.poll());
        try {
          run(ex, request, prepared, lease, start);
        } finally {
          lease.release();
        }
      });
    } catch (RejectedExecutionException e) {
      admitted.release();
      throw new ApiError(503, "server_error", null, "shutting_down", "the server is stopping; retry later");
    }
  }

  /** A worker held by one request, given back (with the request's permit) once, when its generation ends. */
  private final class Lease {
    final Worker worker;
    private final AtomicBoolean released = new AtomicBoolean();

    Lease(Worker worker) {
      this.worker = worker;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        idle.add(worker);
        admitted.release();
      }
    }
  }

  /** The prompt's ids, the tokens to generate and the stop strings of a request. */
  private record Prepared(int[] ids, int maxTokens, List<String> stops) {}

  private Prepared prepare(CompletionRequest r, Tokenizer tok, int context) {
    List<String> stops = new ArrayList<>(r.stop());
    String prompt;
    int maxTokens;
    if (r.chat()) {
      stops.addAll(template.stops());
      InstructionTemplate format = r.system() == null ? template : template.withSystem(r.system());
      int current = tok.encode(format.format(r.user(), "")).length;
      maxTokens = r.maxTokens() != null ? r.maxTokens() : Math.min(defaultMaxTokens, context - current);
      checkContext(current, maxTokens, context, "messages");
      prompt = ChatSession.prompt(format, tok, r.history(), r.user(), context - maxTokens);
    } else {
      prompt = r.prompt();
      int promptTokens = tok.encode(prompt).length;
      maxTokens = r.maxTokens() != null ? r.maxTokens() : Math.min(defaultMaxTokens, context - promptTokens);
      checkContext(promptTokens, maxTokens, context, "prompt");
    }
    return new Prepared(tok.encode(prompt), maxTokens, stops);
  }

  private static void checkContext(int promptTokens, int maxTokens, int context, String param) {
    if (promptTokens + Math.max(1, maxTokens) > context) {
      throw new ApiError(400, "invalid_request_error", param, "context_length_exceeded", "this model's maximum "
          + "context length is " + context + " tokens, but " + (promptTokens + Math.max(1, maxTokens)) + " were "
          + "requested (" + promptTokens + " in the " + param + ", " + Math.max(1, maxTokens) + " for the "
          + "completion); shorten the " + param + " or lower max_tokens");
    }
  }

  private void run(HttpExchange ex, CompletionRequest r, Prepared p, Lease lease, long start) {
    Worker w = lease.worker;
    String id = (r.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    long createdAt = System.currentTimeMillis() / 1000;
    Sampler sampler = new Sampler(r.temperature(), r.topK(), r.topP(), r.seed() != null ? r.seed()
        : seeds.nextLong());
    try {
      if (!r.stream()) {
        Generator.Result g = w.generator().generate(p.ids(), p.maxTokens(), sampler, p.stops(), null);
        lease.release();
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        if (r.chat()) {
          choice.put("message", Map.of("role", "assistant", "content", g.text()));
        } else {
          choice.put("text", g.text());
          choice.put("logprobs", null);
        }
        choice.put("finish_reason", finishReason(g));
        Map<String, Object> body = envelope(id, r.chat() ? "chat.completion" : "text_completion", createdAt);
        body.put("choices", List.of(choice));
        body.put("usage", usage(p.ids().length, g.ids().length));
        json(ex, 200, body, start, tokens(p.ids().length, g.ids().length));
        return;
      }
      ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
      ex.getResponseHeaders().set("Cache-Control", "no-cache");
      ex.sendResponseHeaders(200, 0);
      try (OutputStream out = ex.getResponseBody()) {
        String object = r.chat() ? "chat.completion.chunk" : "text_completion";
        if (r.chat()) {
          event(out, chunk(id, object, createdAt, true, Map.of("role", "assistant", "content", ""), null));
        }
        Consumer<String> send = text -> event(out, chunk(id, object, createdAt, r.chat(),
            r.chat() ? Map.of("content", text) : text, null));
        Generator.Result g = w.generator().generate(p.ids(), p.maxTokens(), sampler, p.stops(), send);
        lease.release();
        event(out, chunk(id, object, createdAt, r.chat(), r.chat() ? Map.of() : "", finishReason(g)));
        if (r.includeUsage()) {
          Map<String, Object> last = envelope(id, object, createdAt);
          last.put("choices", List.of());
          last.put("usage", usage(p.ids().length, g.ids().length));
          event(out, last);
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        logLine(ex, 200, start, tokens(p.ids().length, g.ids().length) + " streamed");
      }
    } catch (IOException | UncheckedIOException e) {
      logLine(ex, 499, start, "client went away: " + e.getMessage());
    } catch (RuntimeException e) {
      json(ex, 500, new ApiError(500, "server_error", null, null, e.toString()).body(), start, "");
    } finally {
      ex.close();
    }
  }

  private static String finishReason(Generator.Result g) {
    return "max_new_tokens".equals(g.stopReason()) ? "length" : "stop";
  }

  private Map<String, Object> envelope(String id, String object, long createdAt) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", id);
    body.put("object", object);
    body.put("created", createdAt);
    body.put("model", modelName);
    return body;
  }

  private Map<String, Object> chunk(String id, String object, long createdAt, boolean chat, Object piece,
      String finish) {
    Map<String, Object> choice = new LinkedHashMap<>();
    choice.put("index", 0);
    if (chat) {
      choice.put("delta", piece);
    } else {
      choice.put("text", piece);
      choice.put("logprobs", null);
    }
    choice.put("finish_reason", finish);
    Map<String, Object> body = envelope(id, object, createdAt);
    body.put("choices", List.of(choice));
    return body;
  }

  private static Map<String, Object> usage(int prompt, int completion) {
    Map<String, Object> u = new LinkedHashMap<>();
    u.put("prompt_tokens", prompt);
    u.put("completion_tokens", completion);
    u.put("total_tokens", prompt + completion);
    return u;
  }

  private static String tokens(int prompt, int completion) {
    return "prompt " + prompt + " + completion " + completion + " tokens";
  }

  private static void event(OutputStream out, Map<String, Object> body) {
    try {
      out.write(("data: " + JsonFiles.line(body) + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void json(HttpExchange ex, int status, Object body, long start, String note) {
    try {
      byte[] bytes = JsonFiles.line(body).getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
      logLine(ex, status, start, note);
    } catch (IOException e) {
      logLine(ex, 499, start, "client went away: " + e.getMessage());
    } finally {
      ex.close();
    }
  }

  private void logLine(HttpExchange ex, int status, long start, String note) {
    log.printf("serve: %s %s %d %.0f ms%s%n", ex.getRequestMethod(), ex.getRequestURI().getPath(), status,
        (System.nanoTime() - start) / 1e6, note.isEmpty() ? "" : " " + note);
  }
}
