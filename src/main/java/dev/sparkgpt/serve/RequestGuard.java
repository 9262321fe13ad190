package dev.sparkgpt.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Set;

/**
 * What a request must pass before the server spends work on it, in order: the Host header (loopback binds answer
 * only to localhost names, so a DNS-rebinding page cannot reach them), the Origin header (a browser page is refused
 * unless {@code --allowed-origins} lists its origin), the API key ({@code Authorization: Bearer KEY}, compared in
 * constant time; {@code /health} is open), and for a POST the media type ({@code application/json} in UTF-8, so a
 * page cannot send a "simple" text/plain cross-site request). The body is then read up to the size limit, decoded
 * as strict UTF-8 and parsed with a bounded nesting depth.
 */
final class RequestGuard {
  /** JSON nesting deeper than this is refused (no request needs more than a few levels). */
  static final int MAX_JSON_DEPTH = 32;
  private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "[::1]");

  private final byte[] keyDigest;
  private final Set<String> allowedOrigins;
  private final boolean loopbackOnly;
  private final int maxRequestBytes;
  private final ObjectMapper json;

  /**
   * @param apiKey the Bearer token every request but /health must carry (null: none)
   * @param allowedOrigins origins ({@code scheme://host[:port]}) whose pages may call the API; "*" = any
   * @param loopbackOnly the server listens on a loopback address: Host must be a loopback name
   */
  RequestGuard(String apiKey, Set<String> allowedOrigins, boolean loopbackOnly, int maxRequestBytes) {
    this.keyDigest = apiKey == null ? null : sha256(apiKey);
    this.allowedOrigins = Set.copyOf(allowedOrigins);
    this.loopbackOnly = loopbackOnly;
    this.maxRequestBytes = maxRequestBytes;
    this.json = JsonFiles.MAPPER.copy();
    json.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_JSON_DEPTH)
        .maxStringLength(maxRequestBytes).build());
  }

  /** Refuses (ApiError) a request whose Host, Origin or key is not allowed; answers CORS headers for an allowed one. */
  void admit(HttpExchange ex, boolean open) {
    String host = ex.getRequestHeaders().getFirst("Host");
    if (loopbackOnly && host != null && !LOOPBACK_NAMES.contains(hostName(host))) {
      throw new ApiError(403, "invalid_request_error", null, "host_not_allowed", "Host '" + host + "' is not "
          + "allowed: this server listens on a loopback address and answers only localhost, 127.0.0.1 and [::1]");
    }
    String origin = ex.getRequestHeaders().getFirst("Origin");
    if (origin != null) {
      if (!allowedOrigins.contains("*") && !allowedOrigins.contains(origin)) {
        throw new ApiError(403, "invalid_request_error", null, "origin_not_allowed", "cross-origin requests from '"
            + origin + "' are refused; serve --allowed-origins lists the pages that may call this server");
      }
      ex.getResponseHeaders().set("Access-Control-Allow-Origin", origin);
      ex.getResponseHeaders().set("Vary", "Origin");
    }
    if (keyDigest != null && !open && !keyMatches(ex.getRequestHeaders().getFirst("Authorization"))) {
      ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
      throw new ApiError(401, "invalid_request_error", null, "invalid_api_key", "a valid API key is required: send "
          + "'Authorization: Bearer KEY' with the key serve was started with (--api-key or SPARKGPT_API_KEY)");
    }
  }

  private boolean keyMatches(String authorization) {
    String prefix = "Bearer ";
    if (authorization == null || !authorization.regionMatches(true, 0, prefix, 0, prefix.length())) {
      return false;
    }
    // digests have one length, so the comparison takes the same time whatever the key's length or content
    return MessageDigest.isEqual(keyDigest, sha256(authorization.substring(prefix.length()).trim()));
  }

  /** A POST's JSON body: application/json, at most maxRequestBytes, strict UTF-8, bounded depth. */
  JsonNode body(HttpExchange ex) {
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    String media = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    String charset = type == null || !type.toLowerCase(Locale.ROOT).contains("charset=") ? "utf-8"
        : type.toLowerCase(Locale.ROOT).replaceAll(".*charset=\"?([^\";]*).*", "$1").trim();
    if (!media.equals("application/json") || !charset.equals("utf-8")) {
      throw new ApiError(415, "invalid_request_error", null, "unsupported_media_type", "the body must be JSON in "
          + "UTF-8 sent as 'Content-Type: application/json', got " + (type == null ? "no Content-Type" : "'"
          + type + "'"));
    }
    String length = ex.getRequestHeaders().getFirst("Content-Length");
    if (length != null && (!length.matches("\\d{1,18}") || Long.parseLong(length) > maxRequestBytes)) {
      throw tooLarge();
    }
    byte[] bytes;
    try (InputStream in = ex.getRequestBody()) {
      bytes = in.readNBytes(maxRequestBytes + 1);
    } catch (IOException e) {
      throw new ApiError(400, "invalid_request_error", null, null, "could not read the request body: "
          + e.getClass().getSimpleName());
    }
    if (bytes.length > maxRequestBytes) {
      throw tooLarge();
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ApiError(400, "invalid_request_error", null, "invalid_encoding", "the body is not valid UTF-8 "
          + "(JSON requests must be UTF-8; is it UTF-16?)");
    }
    try {
      return json.readTree(text);
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

  /** "name[:port]" or "[v6]:port" → the name (lower case), "[v6]" kept in brackets. */
  static String hostName(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int close = h.indexOf(']');
      return close < 0 ? h : h.substring(0, close + 1);
    }
    int colon = h.indexOf(':');
    return colon < 0 ? h : h.substring(0, colon);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
