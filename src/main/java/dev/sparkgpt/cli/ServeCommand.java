package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.serve.OpenAiServer;
import dev.sparkgpt.serve.ServeSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt serve}: an OpenAI-compatible HTTP API over a checkpoint until Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Serve a checkpoint over an OpenAI-compatible HTTP API (/v1/completions with echo and logprobs, "
        + "/v1/chat/completions, both streaming, /v1/models, /tokenize, /detokenize, /health).")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "Run, step or HF directory.")
  String checkpoint;

  @Option(names = "--tokenizer", defaultValue = "auto", paramLabel = "auto|NAME|DIR",
      description = "The model's tokenizer (default: auto, the checkpoint's own; as for generate).")
  String tokenizer;

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 exposes the server to the network).")
  String host;

  @Option(names = "--port", defaultValue = "8000", description = "Port (0 = any free one; default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--model-name", paramLabel = "NAME",
      description = "The model id clients send and /v1/models lists (default: the checkpoint directory's name).")
  String modelName;

  @Option(names = "--workers", defaultValue = "1",
      description = "Model instances answering side by side (each holds the weights; default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--queue", defaultValue = "16",
      description = "Requests waiting for a worker before new ones get 429; 0 = none wait: 429 whenever every worker "
          + "is busy (default: ${DEFAULT-VALUE}).")
  int queue;

  @Option(names = "--max-request-bytes", defaultValue = "1048576", description = "Larger bodies get 413.")
  int maxRequestBytes;

  @Option(names = "--default-max-tokens", defaultValue = "128",
      description = "max_tokens of a request without one, cut to what the context leaves (default: ${DEFAULT-VALUE}).")
  int defaultMaxTokens;

  @Option(names = "--api-key", paramLabel = "KEY",
      description = "Clients must send 'Authorization: Bearer KEY' (default: $SPARKGPT_API_KEY; required with a "
          + "non-loopback --host).")
  String apiKey;

  @Option(names = "--allowed-origins", split = ",", paramLabel = "ORIGIN",
      description = "Browser origins (e.g. http://localhost:3000) whose pages may call the API; * = any "
          + "(default: none: a cross-origin request is refused).")
  List<String> allowedOrigins = new ArrayList<>();

  @Option(names = "--request-timeout", defaultValue = "600",
      description = "Seconds a request may take, queue included, before it is cut off (default: ${DEFAULT-VALUE}).")
  int requestTimeout;

  @Option(names = "--read-timeout", defaultValue = "30",
      description = "Seconds a client has to send its request line, headers and body (default: ${DEFAULT-VALUE}).")
  int readTimeout;

  @Option(names = "--stall-timeout", defaultValue = "30",
      description = "Seconds a client may take no response bytes before it is dropped (default: ${DEFAULT-VALUE}).")
  int stallTimeout;

  @Option(names = "--max-connections", defaultValue = "64",
      description = "Threads answering connections, at least workers + queue + 8 (default: ${DEFAULT-VALUE}).")
  int maxConnections;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() throws InterruptedException {
    atLeast("--workers", workers, 1, "one model instance per request answered side by side");
    atLeast("--queue", queue, 0, "0 = no request waits: 429 whenever every worker is busy");
    atLeast("--max-request-bytes", maxRequestBytes, 1, "the default is 1048576");
    atLeast("--default-max-tokens", defaultMaxTokens, 1, "the default is 128");
    atLeast("--request-timeout", requestTimeout, 1, "seconds; the default is 600");
    atLeast("--read-timeout", readTimeout, 1, "seconds; the default is 30");
    atLeast("--stall-timeout", stallTimeout, 1, "seconds; the default is 30");
    String key = apiKey(apiKey, System.getenv(), host);
    System.setProperty(OpenAiServer.READ_TIMEOUT_PROPERTY, String.valueOf(readTimeout)); // before the server starts
    List<OpenAiServer.Worker> instances = new ArrayList<>();
    for (int i = 0; i < workers; i++) {
      GenerationOptions.Loaded loaded = GenerationOptions.load(checkpoint, tokenizer, true, false);
      instances.add(new OpenAiServer.Worker(loaded.generator(), loaded.tokenizer(),
          loaded.model().config().contextLength(), loaded.template(), new GptScoringModel(loaded.model())));
    }
    String name = modelName != null ? modelName : Path.of(checkpoint).toAbsolutePath().normalize().getFileName()
        .toString();
    ServeSettings settings = ServeSettings.of(queue, maxRequestBytes, defaultMaxTokens).withApiKey(key)
        .withAllowedOrigins(Set.copyOf(allowedOrigins)).withTimeouts(requestTimeout * 1000L, stallTimeout * 1000L)
        .withConnectionThreads(maxConnections);
    OpenAiServer server = new OpenAiServer(name, instances, settings, System.err);
    int bound;
    try {
      bound = server.start(host, port);
    } catch (IOException e) {
      throw new ConfigException("--port", "cannot listen on " + host + ":" + port + ": " + e.getMessage(),
          "choose a free port (--port 0 picks one) or stop what uses it");
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.println("serve: stopping (finishing running requests)");
      server.stop(10);
      stopped.countDown();
    }));
    System.out.printf("serve: model '%s' on http://%s:%d/v1 (%d worker%s, queue %d, %s chat format); Ctrl-C stops%n",
        name, host, bound, workers, workers == 1 ? "" : "s", queue, instances.get(0).template().name());
    System.out.flush();
    stopped.await();
    return 0;
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      throw new ConfigException("--host", "cannot resolve " + host + ": " + e.getMessage(),
          "give an address such as 127.0.0.1 or 0.0.0.0");
    }
  }

  /**
   * The key clients must send: {@code flag} (--api-key), else the environment's SPARKGPT_API_KEY, else none, which
   * only a loopback {@code host} allows.
   */
  static String apiKey(String flag, Map<String, String> env, String host) {
    String key = flag != null ? flag : env.get("SPARKGPT_API_KEY");
    if (key != null && key.isBlank()) {
      throw new ConfigException("--api-key", "is empty", "give a non-empty key, or neither --api-key nor "
          + "SPARKGPT_API_KEY");
    }
    if (key == null && !isLoopback(host)) {
      throw new ConfigException("--host", host + " is not a loopback address, and the server has no API key",
          "pass --api-key KEY (or set SPARKGPT_API_KEY) to serve beyond this machine, or bind 127.0.0.1");
    }
    return key;
  }

  private static void atLeast(String option, int value, int min, String hint) {
    if (value < min) {
      throw new ConfigException(option, "must be ≥ " + min + ", got " + value, hint);
    }
  }
}
