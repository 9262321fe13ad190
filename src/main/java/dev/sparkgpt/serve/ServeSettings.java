package dev.sparkgpt.serve;

import java.util.Set;

/**
 * How much a server lets its clients ask of it, and who may ask ({@code sparkgpt serve}'s options).
 *
 * @param queueCapacity requests waiting for a worker before 429 (0: none wait, 429 whenever all workers are busy)
 * @param maxRequestBytes larger bodies get 413
 * @param defaultMaxTokens max_tokens when a request has none (cut to what the context leaves)
 * @param apiKey the Bearer token every request but /health must carry (null: none; required off loopback)
 * @param allowedOrigins browser origins whose pages may call the API ("*" = any; empty: no page may)
 * @param connectionThreads threads reading and answering connections (at least workers + queue + a few spare, so
 *     that a request waiting for a worker never keeps another from being refused quickly)
 * @param requestTimeoutMillis a request not answered by then is cut off (504, or an error event when streaming)
 * @param stallMillis a client that takes no response bytes for this long is dropped, freeing its worker
 */
public record ServeSettings(int queueCapacity, int maxRequestBytes, int defaultMaxTokens, String apiKey,
    Set<String> allowedOrigins, int connectionThreads, long requestTimeoutMillis, long stallMillis) {
  /** The defaults of {@code serve}: 10 minutes per request, 30 s of stalled reading, 64 connection threads. */
  public static ServeSettings of(int queueCapacity, int maxRequestBytes, int defaultMaxTokens) {
    return new ServeSettings(queueCapacity, maxRequestBytes, defaultMaxTokens, null, Set.of(), 64, 600_000, 30_000);
  }

  public ServeSettings {
    allowedOrigins = Set.copyOf(allowedOrigins);
    if (queueCapacity < 0) {
      throw new IllegalArgumentException("queue capacity must be ≥ 0, got " + queueCapacity);
    }
  }

  public ServeSettings withApiKey(String key) {
    return new ServeSettings(queueCapacity, maxRequestBytes, defaultMaxTokens, key, allowedOrigins,
        connectionThreads, requestTimeoutMillis, stallMillis);
  }

  public ServeSettings withAllowedOrigins(Set<String> origins) {
    return new ServeSettings(queueCapacity, maxRequestBytes, defaultMaxTokens, apiKey, origins, connectionThreads,
        requestTimeoutMillis, stallMillis);
  }

  public ServeSettings withTimeouts(long requestMillis, long stalledMillis) {
    return new ServeSettings(queueCapacity, maxRequestBytes, defaultMaxTokens, apiKey, allowedOrigins,
        connectionThreads, requestMillis, stalledMillis);
  }

  public ServeSettings withConnectionThreads(int threads) {
    return new ServeSettings(queueCapacity, maxRequestBytes, defaultMaxTokens, apiKey, allowedOrigins, threads,
        requestTimeoutMillis, stallMillis);
  }
}
