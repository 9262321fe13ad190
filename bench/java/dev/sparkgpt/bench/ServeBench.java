package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.serve.OpenAiServer;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code serve} under load: time to first streamed token and generated tokens/s for 1 and 4 concurrent streaming
 * clients (gpt2-tiny shapes, random weights, 64 new tokens after a short prompt), with 1 model worker and with 2.
 * Usage: bench/run ServeBench [requests per client (default 3)]
 */
public final class ServeBench {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private ServeBench() {}

  /** One streamed request: seconds to the first text chunk, and in all, and the chunks received. */
  record Timing(double firstToken, double total, int chunks) {}

  public static void main(String[] args) throws Exception {
    int perClient = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    ModelConfig config = ModelConfigs.resolve("gpt2-tiny", Map.of("drop_rate", 0.0));
    Tokenizer tok = Tokenizers.load("gpt2");
    System.out.printf("%d cores, gpt2-tiny (random), 64 new tokens per request, %d requests per client%n",
        Runtime.getRuntime().availableProcessors(), perClient);
    System.out.printf("%-22s %8s %14s %14s %12s%n", "setup", "clients", "TTFT p50 (ms)", "TTFT max (ms)",
        "tokens/s");
    double base = 0;
    for (int workers : new int[] {1, 2}) {
      List<OpenAiServer.Worker> instances = new ArrayList<>();
      for (int i = 0; i < workers; i++) {
        GptModel model = GptModel.initialize(config, DataType.FLOAT, 1);
        instances.add(new OpenAiServer.Worker(new Generator(new GptStepModel(model, null).scorer(), tok), tok,
            config.contextLength()));
      }
      try (OpenAiServer server = new OpenAiServer("bench", instances, 32, 1 << 20, 64,
          new PrintStream(OutputStream.nullOutputStream()))) {
        String url = "http://127.0.0.1:" + server.start("127.0.0.1", 0) + "/v1/completions";
        run(url, 2, 4); // warm-up (JIT)
        for (int clients : new int[] {1, 4}) {
          long t0 = System.nanoTime();
          List<Timing> timings = run(url, clients, perClient);
          double seconds = (System.nanoTime() - t0) / 1e9;
          double tokens = 64.0 * clients * perClient / seconds;
          if (base == 0) {
            base = tokens;
          }
          List<Double> ttft = timings.stream().map(t -> t.firstToken() * 1000).sorted().toList();
          System.out.printf("%-22s %8d %14.0f %14.0f %12.1f  (%.2fx of 1 worker, 1 client)%n", workers
              + " worker" + (workers > 1 ? "s" : ""), clients, ttft.get(ttft.size() / 2), ttft.get(ttft.size() - 1),
              tokens, tokens / base);
        }
      }
    }
  }

  private static List<Timing> run(String url, int clients, int perClient) throws Exception {
    List<CompletableFuture<List<Timing>>> all = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int client = c;
      all.add(CompletableFuture.supplyAsync(() -> {
        List<Timing> out = new ArrayList<>();
        for (int i = 0; i < perClient; i++) {
          out.add(stream(url, "Client " + client + " request " + i + " says"));
        }
        return out;
      }));
    }
    List<Timing> timings = new ArrayList<>();
    for (CompletableFuture<List<Timing>> f : all) {
      timings.addAll(f.get());
    }
    return timings;
  }

  private static Timing stream(String url, String prompt) {
    try {
      String body = JsonFiles.line(Map.of("prompt", prompt, "max_tokens", 64, "temperature", 0.8, "seed", 1,
          "stream", true));
      long t0 = System.nanoTime();
      HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
          .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
          HttpResponse.BodyHandlers.ofInputStream());
      double first = -1;
      int chunks = 0;
      try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          if (line.startsWith("data: {") && !line.contains("\"finish_reason\":\"")) {
            chunks++;
            if (first < 0) {
              first = (System.nanoTime() - t0) / 1e9;
            }
          }
        }
      }
      return new Timing(first, (System.nanoTime() - t0) / 1e9, chunks);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
