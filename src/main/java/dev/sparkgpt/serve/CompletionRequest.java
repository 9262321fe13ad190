package dev.sparkgpt.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.generate.ChatSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} body. Fields follow OpenAI's API (and vLLM's
 * extensions); unknown fields are ignored (as vLLM and Ollama do), a known field of the wrong type or range is a 400
 * naming it. Every list and string a request can make the server loop over is capped ({@link #MAX_STOPS} …).
 *
 * @param chat true for chat completions (messages), false for completions (prompt)
 * @param model the requested model name (null when absent)
 * @param prompts completions: the prompts, each text or token ids (a string, a list of strings, a list of ids or a
 *     list of id lists, as OpenAI and vLLM accept them)
 * @param system chat: the system messages' text (replaces the instruction template's preamble; null = keep it)
 * @param history chat: earlier user/assistant exchanges, oldest first
 * @param user chat: the last user message, which the model answers
 * @param maxTokens tokens to generate at most (null = the server's default for the endpoint; 0 only with echo)
 * @param temperature 0 = greedy
 * @param topP nucleus mass (1 = off)
 * @param topK an extension (vLLM's name): sample among the k most likely (0 = all)
 * @param seed sampling seed (null = a fresh one per request); choice j of a prompt samples with seed + j
 * @param stop up to {@link #MAX_STOPS} stop strings of up to {@link #MAX_STOP_CHARS} characters
 * @param stream answer with server-sent events
 * @param includeUsage stream_options.include_usage: a last chunk with the token counts
 * @param n choices per prompt
 * @param echo completions: the prompt is part of the answer (text and logprobs)
 * @param logprobs completions: the number of most likely alternatives per token (null = no logprobs; 0 = the
 *     chosen tokens' only); chat: {@code top_logprobs} when {@code logprobs} is true
 */
public record CompletionRequest(boolean chat, String model, List<Prompt> prompts, String system,
    List<ChatSession.Turn> history, String user, Integer maxTokens, double temperature, double topP, int topK,
    Long seed, List<String> stop, boolean stream, boolean includeUsage, int n, boolean echo, Integer logprobs) {

  /** Stop strings per request (OpenAI's limit). */
  public static final int MAX_STOPS = 4;
  /** Characters per stop string: each generated token is checked against every stop, so both are bounded. */
  public static final int MAX_STOP_CHARS = 256;
  /** Chat messages per request. */
  public static final int MAX_MESSAGES = 512;
  /** Prompts per completions request (lm-eval sends its batch as one request). */
  public static final int MAX_PROMPTS = 64;
  /** Choices per prompt. */
  public static final int MAX_N = 8;
  /** Alternatives per token in logprobs (vLLM's default max_logprobs). */
  public static final int MAX_LOGPROBS = 20;

  /** One prompt: its text, or (text null) its token ids. */
  public record Prompt(String text, int[] ids) {}

  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /** Parses and validates {@code body} for the chat ({@code chat}) or the completions endpoint. */
  public static CompletionRequest parse(JsonNode body, boolean chat) {
    if (body == null || !body.isObject()) {
      throw ApiError.invalid(null, "the request body must be a JSON object");
    }
    String model = optionalText(body, "model");
    int n = (int) integer(body, "n", 1, 1, MAX_N);
    boolean echo = !chat && bool(body, "echo");
    Integer maxTokens = body.hasNonNull("max_completion_tokens")
        ? (Integer) (int) integer(body, "max_completion_tokens", 0, echo ? 0 : 1, Integer.MAX_VALUE)
        : body.hasNonNull("max_tokens")
            ? (Integer) (int) integer(body, "max_tokens", 0, echo ? 0 : 1, Integer.MAX_VALUE) : null;
    double temperature = number(body, "temperature", 1.0, 0, 2);
    double topP = number(body, "top_p", 1.0, Double.MIN_VALUE, 1);
    int topK = (int) integer(body, "top_k", 0, 0, Integer.MAX_VALUE);
    Long seed = body.hasNonNull("seed") ? integer(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE) : null;
    List<String> stop = stops(body.get("stop"));
    boolean stream = bool(body, "stream");
    JsonNode options = body.get("stream_options");
    boolean includeUsage = options != null && options.isObject() && bool(options, "include_usage");
    Integer logprobs = chat ? (bool(body, "logprobs") ? (Integer) (int) integer(body, "top_logprobs", 0, 0,
        MAX_LOGPROBS) : null) : body.hasNonNull("logprobs") ? (Integer) (int) integer(body, "logprobs", 0, 0,
        MAX_LOGPROBS) : null;
    if (!chat) {
      List<Prompt> prompts = prompts(body.get("prompt"));
      if (stream && prompts.size() * n > 1) {
        throw ApiError.invalid("stream", "stream answers one prompt with one choice (n = 1); send "
            + prompts.size() * n + " choices without stream, or one request each");
      }
      return new CompletionRequest(false, model, prompts, null, List.of(), null, maxTokens, temperature, topP, topK,
          seed, stop, stream, includeUsage, n, echo, logprobs);
    }
    if (stream && n > 1) {
      throw ApiError.invalid("n", "stream answers with one choice; send n = 1 or no stream");
    }
    JsonNode messages = body.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty() || messages.size() > MAX_MESSAGES) {
      throw ApiError.invalid("messages", "'messages' must be a non-empty array of up to " + MAX_MESSAGES
          + " {role, content}");
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
    return new CompletionRequest(true, model, List.of(), system == null ? null : system.toString(), history,
        pendingUser, maxTokens, temperature, topP, topK, seed, stop, stream, includeUsage, n, false, logprobs);
  }

  /** A string, a list of strings, a list of token ids, or a list of id lists. */
  private static List<Prompt> prompts(JsonNode p) {
    String shape = "'prompt' must be a string, a list of strings, a list of token ids or a list of token id lists";
    List<Prompt> out = new ArrayList<>();
    if (p != null && p.isTextual()) {
      out.add(new Prompt(p.asText(), null));
    } else if (p != null && p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
      out.add(new Prompt(null, ids(p, "prompt")));
    } else if (p != null && p.isArray() && !p.isEmpty() && p.size() <= MAX_PROMPTS) {
      for (int i = 0; i < p.size(); i++) {
        JsonNode one = p.get(i);
        if (one.isTextual()) {
          out.add(new Prompt(one.asText(), null));
        } else if (one.isArray()) {
          out.add(new Prompt(null, ids(one, "prompt[" + i + "]")));
        } else {
          throw ApiError.invalid("prompt", shape + "; prompt[" + i + "] is " + one.getNodeType());
        }
      }
    } else if (p != null && p.isArray() && p.size() > MAX_PROMPTS) {
      throw ApiError.invalid("prompt", "at most " + MAX_PROMPTS + " prompts per request, got " + p.size());
    } else {
      throw ApiError.invalid("prompt", shape);
    }
    for (int i = 0; i < out.size(); i++) {
      Prompt one = out.get(i);
      if (one.text() != null ? one.text().isEmpty() : one.ids().length == 0) {
        throw ApiError.invalid("prompt", out.size() == 1 ? "'prompt' is empty" : "prompt[" + i + "] is empty");
      }
    }
    return out;
  }

  private static int[] ids(JsonNode list, String where) {
    int[] ids = new int[list.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = list.get(i);
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
        throw ApiError.invalid("prompt", where + "[" + i + "] must be a token id (an integer ≥ 0), got " + id);
      }
      ids[i] = id.asInt();
    }
    return ids;
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
      throw ApiError.invalid(field, "'" + field + "' must be an integer ≥ " + min
          + (max < Integer.MAX_VALUE ? " and ≤ " + max : "") + ", got " + v);
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
    String shape = "'stop' must be a string or an array of up to " + MAX_STOPS + " strings of up to "
        + MAX_STOP_CHARS + " characters";
    if (v == null || v.isNull()) {
      return out;
    }
    if (v.isTextual()) {
      out.add(v.asText());
    } else if (v.isArray() && v.size() <= MAX_STOPS) {
      for (JsonNode s : v) {
        if (!s.isTextual()) {
          throw ApiError.invalid("stop", shape);
        }
        out.add(s.asText());
      }
    } else {
      throw ApiError.invalid("stop", shape);
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw ApiError.invalid("stop", "'stop' strings must not be empty");
    }
    if (out.stream().anyMatch(s -> s.length() > MAX_STOP_CHARS)) {
      throw ApiError.invalid("stop", shape + ", got one of " + out.stream().mapToInt(String::length).max()
          .orElse(0) + " characters");
    }
    return out;
  }
}
