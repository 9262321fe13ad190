package dev.sparkgpt.serve;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request the server refuses, answered as OpenAI does: the HTTP status and
 * {@code {"error": {"message", "type", "param", "code"}}}, {@code param} naming the offending field.
 */
public final class ApiError extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final String type;
  private final String param;
  private final String code;

  public ApiError(int status, String type, String param, String code, String message) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  /** 400 for a field that is missing, of the wrong type or out of range. */
  public static ApiError invalid(String param, String message) {
    return new ApiError(400, "invalid_request_error", param, null, message);
  }

  /** 504: the request did not finish within serve --request-timeout. */
  public static ApiError timeout() {
    return new ApiError(504, "timeout", null, "request_timeout", "the request did not finish within the server's "
        + "deadline (serve --request-timeout); ask for fewer tokens or retry later");
  }

  /** 500 without internals: the server log has the cause under {@code incident}. */
  public static ApiError internal(String incident) {
    return new ApiError(500, "server_error", null, "internal_error", "the server failed on this request (incident "
        + incident + " in its log); retry, or report it with the incident id");
  }

  public int status() {
    return status;
  }

  /** The JSON body. */
  public Map<String, Object> body() {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("message", getMessage());
    error.put("type", type);
    error.put("param", param);
    error.put("code", code);
    return Map.of("error", error);
  }
}
