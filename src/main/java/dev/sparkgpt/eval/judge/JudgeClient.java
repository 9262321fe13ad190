package dev.sparkgpt.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Asks an OpenAI-compatible {@code /chat/completions} endpoint (OpenAI, vLLM, Ollama, {@code sparkgpt serve}) one
 * question at a time. Connection failures, timeouts, 429 and 5xx are retried with exponential backoff (honouring
 * Retry-After); another 4xx (bad key, unknown model) fails at once, as every later request would too. The API key
 * goes in the Authorization header only, never into messages or logs: text the endpoint sends back (an error that
 * quotes the key it was given, as some do) has the key replaced by {@link #REDACTED} before it reaches a message.
 */
public final class JudgeClient {
  /** What the API key becomes in any text the endpoint sends back. */
  public static final String REDACTED = "[api key]";

  /** The endpoint refused the request for good (4xx other than 429). */
  public static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  /** No answer after every try. */
  public static final class Unreachable extends Exception {
    private static final long serialVersionUID = 1L;

    Unreachable(String message) {
      super(message);
    }
  }

  /** Retry and timeout settings. */
  public record Policy(int retries, Duration backoff, Duration timeout) {}

  private final URI url;
  private final String model;
  private final String apiKey;
  private final Policy policy;
  private final int maxTokens;
  private final HttpClient http;

  /**
   * @param endpoint the API base (…/v1) or the full …/chat/completions URL
   * @param apiKey sent as a Bearer token (null or empty = none)
   */
  public JudgeClient(String endpoint, String model, String apiKey, Policy policy, int maxTokens) {
    String base = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    this.url = URI.create(base.endsWith("/chat/completions") ? base : base + "/chat/completions");
    this.model = model;
    this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
    this.policy = policy;
    this.maxTokens = maxTokens;
    this.http = HttpClient.newBuilder().connectTimeout(policy.timeout()).build();
  }

  public URI url() {
    return url;
  }

  /** The judge's answer to {@code prompt} (temperature 0, seed 123, as the book asks Ollama). */
  public String ask(String prompt) throws Refused, Unreachable, InterruptedException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("model", model);
    body.put("messages", List.of(Map.of("role", "user", "content", prompt)));
    body.put("temperature", 0);
    body.put("seed", 123);
    body.put("max_tokens", maxTokens);
    body.put("stream", false);
    HttpRequest.Builder request;
    try {
      request = HttpRequest.newBuilder(url).timeout(policy.timeout()).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofByteArray(JsonFiles.MAPPER.writeValueAsBytes(body)));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    String last = "";
    long wait = policy.backoff().toMillis();
    for (int attempt = 0; attempt <= policy.retries(); attempt++) {
      if (attempt > 0) {
        Thread.sleep(wait);
        wait = Math.min(wait * 2, 60_000);
      }
      HttpResponse<String> r;
      try {
        r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        last = redact(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        continue;
      }
      if (r.statusCode() == 200) {
        return content(r.body());
      }
      last = redact("HTTP " + r.statusCode() + " " + errorMessage(r.body()));
      if (r.statusCode() == 429 || r.statusCode() >= 500) {
        long after = r.headers().firstValueAsLong("Retry-After").orElse(0) * 1000;
        wait = Math.max(wait, Math.min(after, 60_000));
        continue;
      }
      throw new Refused(url + " answered " + last);
    }
    throw new Unreachable("no answer from " + url + " after " + (policy.retries() + 1) + " tries (last: " + last
        + ")");
  }

  private String content(String body) throws Refused {
    try {
      JsonNode c = JsonFiles.MAPPER.readTree(body).at("/choices/0/message/content");
      if (c.isTextual()) {
        return redact(c.asText()); // an endpoint echoing the key would otherwise put it into the cache
      }
    } catch (IOException e) {
      // falls through
    }
    throw new Refused(url + " answered 200 without choices[0].message.content: "
        + redact(body.substring(0, Math.min(200, body.length()))));
  }

  /** {@code text} with the API key replaced by {@link #REDACTED}. */
  private String redact(String text) {
    return apiKey == null ? text : text.replace(apiKey, REDACTED);
  }

  private static String errorMessage(String body) {
    try {
      JsonNode m = JsonFiles.MAPPER.readTree(body).at("/error/message");
      if (m.isTextual()) {
        return m.asText();
      }
    } catch (IOException e) {
      // not JSON
    }
    return body.substring(0, Math.min(200, body.length()));
  }
}
