package dev.sparkgpt.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.generate.ChatSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} body. Fields follow OpenAI's API; unknown
 * fields are ignored (as vLLM and Ollama do), a known field of the wrong type or range is a 400 naming it.
 *
 * @param chat true for chat completions (messages), false for completions (prompt)
 * @param model the requested model name (null when absent)
 * @param prompt completions: the text to continue
 * @param system chat: the system messages' text (replaces the instruction template's preamble; null = keep it)
 * @param history chat: earlier user/assistant exchanges, oldest first
 * @param user chat: the last user message, which the model answers
 * @param maxTokens tokens to generate at most (null = the server's default for the endpoint)
 * @param temperature 0 = greedy
 * @param topP nucleus mass (1 = off)
 * @param topK an extension (vLLM's name): sample among the k most likely (0 = all)
 * @param seed sampling seed (null = a fresh one per request)
 * @param stop up to 4 stop strings
 * @param stream answer with server-sent events
 * @param includeUsage stream_options.include_usage: a last chunk with the token counts
 */
public record CompletionRequest(boolean chat, String model, String prompt, String system,
    List<ChatSession.Turn> history, String user, Integer maxTokens, double temperature, double topP, int topK,
    Long seed, List<String> stop, boolean stream, boolean includeUsage) {

  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /** Parses and validates {@code body} for the chat ({@code chat}) or the completions endpoint. */
  public static CompletionRequest parse(JsonNode body, boolean chat) {
    if (body == null || !body.isObject()) {
      throw ApiError.invalid(null, "the request body must be a JSON object");
    }
    String model = optionalText(body, "model");
    integer(body, "n", 1, 1, 1);
    Integer maxTokens = body.hasNonNull("max_completion_tokens")
        ? (Integer) (int) integer(body, "max_completion_tokens", 0, 1, Integer.MAX_VALUE)
        : body.hasNonNull("max_tokens") ? (Integer) (int) integer(body, "max_tokens", 0, 1, Integer.MAX_VALUE) : null;
    double temperature = number(body, "temperature", 1.0, 0, 2);
    double topP = number(body, "top_p", 1.0, Double.MIN_VALUE, 1);
    int topK = (int) integer(body, "top_k", 0, 0, Integer.MAX_VALUE);
    Long seed = body.hasNonNull("seed") ? integer(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE) : null;
    List<String> stop = stops(body.get("stop"));
    boolean stream = bool(body, "stream");
    JsonNode options = body.get("stream_options");
    boolean includeUsage = options != null && options.isObject() && bool(options, "include_usage");
    if (!chat) {
      JsonNode p = body.get("prompt");
      String prompt;
      if (p != null && p.isTextual()) {
        prompt = p.asText();
      } else if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
        prompt = p.get(0).asText();
      } else {
        throw ApiError.invalid("prompt", "'prompt' must be a string (or an array of one string)");
      }
      if (prompt.isEmpty()) {
        throw ApiError.invalid("prompt", "'prompt' is empty");
      }
      return new CompletionRequest(false, model, prompt, null, List.of(), null, maxTokens, temperature, topP, topK,
          seed, stop, stream, includeUsage);
    }
    JsonNode messages = body.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw ApiError.invalid("messages", "'messages' must be a non-empty array of {role, content}");
    }
    StringBuilder system = null;
    List<ChatSession.Turn> history = new ArrayList<>();
    String pendingUser = null;
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String where = "messages[" + i + "]";
      String role = m.path("role").isTextual() ? m.get("role").asText() : null;
      if (role == null || !ROLES.contains(role)) {
        throw ApiError.invalid(where + ".role", where + ".role must be one of " + ROLES + ", got " + m.get("role"));
      }
      String content = content(m.get("content"), where + ".content");
      switch (role) {
        case "system" -> system = system == null ? new StringBuilder(content) : system.append("\n").append(content);
        case "user" -> {
          if (pendingUser != null) {
            history.add(new ChatSession.Turn(pendingUser, ""));
          }
          pendingUser = content;
        }
        default -> {
          history.add(new ChatSession.Turn(pendingUser == null ? "" : pendingUser, content));
          pendingUser = null;
        }
      }
    }
    if (pendingUser == null) {
      throw ApiError.invalid("messages", "the last message must have role 'user' (the one the model answers)");
    }
    return new CompletionRequest(true, model, null, system == null ? null : system.toString(), history, pendingUser,
        maxTokens, temperature, topP, topK, seed, stop, stream, includeUsage);
  }

  private static String content(JsonNode c, String param) {
    if (c != null && c.isTextual()) {
      return c.asText();
    }
    if (c != null && c.isArray()) { // [{"type": "text", "text": "..."}]
      StringBuilder text = new StringBuilder();
      for (JsonNode part : c) {
        if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw ApiError.invalid(param, param + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
        }
        text.append(part.get("text").asText());
      }
      return text.toString();
    }
    throw ApiError.invalid(param, param + " must be a string");
  }

  private static String optionalText(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw ApiError.invalid(field, "'" + field + "' must be a string");
    }
    return v.asText();
  }

  private static long integer(JsonNode body, String field, long absent, long min, long max) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return absent;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw ApiError.invalid(field, "'" + field + "' must be an integer" + (min == max ? " equal to " + min
          + " (one choice per request)" : " ≥ " + min + (max < Integer.MAX_VALUE ? " and ≤ " + max : ""))
          + ", got " + v);
    }
    return v.asLong();
  }

  private static double number(JsonNode body, String field, double absent, double min, double max) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return absent;
    }
    if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
      throw ApiError.invalid(field, "'" + field + "' must be a number in [" + (min == Double.MIN_VALUE ? "0 (excl.)"
          : min) + ", " + max + "], got " + v);
    }
    return v.asDouble();
  }

  private static boolean bool(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw ApiError.invalid(field, "'" + field + "' must be true or false, got " + v);
    }
    return v.asBoolean();
  }

  private static List<String> stops(JsonNode v) {
    List<String> out = new ArrayList<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (v.isTextual()) {
      out.add(v.asText());
    } else if (v.isArray() && v.size() <= 4) {
      for (JsonNode s : v) {
        if (!s.isTextual()) {
          throw ApiError.invalid("stop", "'stop' must be a string or an array of up to 4 strings");
        }
        out.add(s.asText());
      }
    } else {
      throw ApiError.invalid("stop", "'stop' must be a string or an array of up to 4 strings");
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw ApiError.invalid("stop", "'stop' strings must not be empty");
    }
    return out;
  }
}
