package dev.sparkgpt.serve;

import dev.sparkgpt.generate.ChatSession;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * One completions or chat request from its validated body to its answer: {@link #prepare} tokenizes and checks the
 * token budget on the connection thread (a quick 4xx), {@link #answer} and {@link #stream} run on a worker. Each
 * prompt gets {@code n} choices; {@code echo} puts the prompt before the completion and {@code logprobs} scores
 * every token shown ({@link LogProbs}).
 */
final class Completions {
  /** The tokens of every prompt, the tokens to generate and the stop strings of a request. */
  record Prepared(CompletionRequest request, List<int[]> prompts, int maxTokens, List<String> stops) {}

  private final String modelName;
  private final Tokenizer tokenizer;
  private final int contextLength;
  private final InstructionTemplate template;
  private final int defaultMaxTokens;
  private final SecureRandom seeds = new SecureRandom();

  Completions(String modelName, OpenAiServer.Worker first, int defaultMaxTokens) {
    this.modelName = modelName;
    this.tokenizer = first.tokenizer();
    this.contextLength = first.contextLength();
    this.template = first.template();
    this.defaultMaxTokens = defaultMaxTokens;
  }

  Prepared prepare(CompletionRequest r) {
    if (r.model() != null && !r.model().equals(modelName)) {
      throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "the model '" + r.model()
          + "' does not exist; this server serves '" + modelName + "'");
    }
    if (r.stream() && r.logprobs() != null) {
      throw ApiError.invalid("logprobs", "logprobs are answered without stream; ask again with stream false");
    }
    List<String> stops = new ArrayList<>(r.stop());
    if (r.chat()) {
      stops.addAll(template.stops());
      InstructionTemplate format = r.system() == null ? template : template.withSystem(r.system());
      int current = tokenizer.encodePrompt(format.format(r.user(), "")).length;
      int maxTokens = maxTokens(r, current, "messages");
      String prompt = ChatSession.prompt(format, tokenizer, r.history(), r.user(), contextLength - maxTokens);
      return new Prepared(r, List.of(tokenizer.encodePrompt(prompt)), maxTokens, stops);
    }
    List<int[]> prompts = new ArrayList<>();
    int maxTokens = Integer.MAX_VALUE;
    for (CompletionRequest.Prompt p : r.prompts()) {
      int[] ids = p.ids() != null ? checkIds(p.ids()) : tokenizer.encodePrompt(p.text());
      if (ids.length == 0) {
        throw ApiError.invalid("prompt", "the prompt encodes to no tokens");
      }
      prompts.add(ids);
      maxTokens = Math.min(maxTokens, maxTokens(r, ids.length, "prompt"));
    }
    return new Prepared(r, prompts, maxTokens, stops);
  }

  private int[] checkIds(int[] ids) {
    for (int id : ids) {
      if (id >= tokenizer.vocabSize()) {
        throw ApiError.invalid("prompt", "token id " + id + " is outside the vocabulary (" + tokenizer.vocabSize()
            + " ids)");
      }
    }
    return ids;
  }

  /** The request's max_tokens (or the default the context leaves), refused when prompt + it exceed the context. */
  private int maxTokens(CompletionRequest r, int promptTokens, String param) {
    long asked = r.maxTokens() != null ? r.maxTokens() : Math.min(defaultMaxTokens, contextLength - promptTokens);
    long least = r.echo() ? 0 : 1;
    long needed = promptTokens + Math.max(least, asked); // long: max_tokens may be Integer.MAX_VALUE
    if (needed > contextLength) {
      throw new ApiError(400, "invalid_request_error", param, "context_length_exceeded", "this model's maximum "
          + "context length is " + contextLength + " tokens, but " + needed + " were requested (" + promptTokens
          + " in the " + param + ", " + Math.max(least, asked) + " for the completion); shorten the " + param
          + " or lower max_tokens");
    }
    return (int) Math.max(0, asked);
  }

  private Sampler sampler(CompletionRequest r, int choice) {
    return new Sampler(r.temperature(), r.topK(), r.topP(), r.seed() != null ? r.seed() + choice : seeds.nextLong());
  }

  /** Generates every choice (non-streaming); the lease is released before the body is built. */
  Map<String, Object> answer(Prepared p, Admission.Lease lease, Cancellation cancel) {
    CompletionRequest r = p.request();
    OpenAiServer.Worker w = lease.worker;
    List<Map<String, Object>> choices = new ArrayList<>();
    int promptTokens = 0;
    int completionTokens = 0;
    Consumer<String> check = text -> cancel.check();
    for (int i = 0; i < p.prompts().size(); i++) {
      int[] ids = p.prompts().get(i);
      promptTokens += ids.length;
      for (int j = 0; j < r.n(); j++) {
        cancel.check();
        Generator.Result g = p.maxTokens() == 0 ? new Generator.Result(new int[0], "", "max_new_tokens")
            : w.generator().generate(ids, p.maxTokens(), sampler(r, j), p.stops(), check);
        completionTokens += g.ids().length;
        choices.add(choice(r, w, choices.size(), ids, g));
      }
    }
    lease.release();
    Map<String, Object> body = envelope(r.chat() ? "chatcmpl-" : "cmpl-", r.chat() ? "chat.completion"
        : "text_completion");
    body.put("choices", choices);
    body.put("usage", usage(promptTokens, completionTokens));
    return body;
  }

  private Map<String, Object> choice(CompletionRequest r, OpenAiServer.Worker w, int index, int[] prompt,
      Generator.Result g) {
    Map<String, Object> choice = new LinkedHashMap<>();
    choice.put("index", index);
    Map<String, Object> logprobs = null;
    if (r.logprobs() != null || r.echo()) {
      if (w.scorer() == null) {
        throw ApiError.invalid("logprobs", "this server's model cannot score tokens (no scorer was loaded)");
      }
      int[] all = Arrays.copyOf(prompt, prompt.length + g.ids().length);
      System.arraycopy(g.ids(), 0, all, prompt.length, g.ids().length);
      if (r.logprobs() != null) {
        LogProbs.Scored s = LogProbs.score(w.scorer(), all, r.logprobs());
        logprobs = r.chat() ? LogProbs.chat(s, all, prompt.length, r.logprobs(), tokenizer)
            : LogProbs.completions(s, all, r.echo() ? 0 : prompt.length, r.logprobs(), tokenizer,
                r.echo() ? 0 : tokenizer.decode(prompt).length());
      }
    }
    if (r.chat()) {
      choice.put("message", Map.of("role", "assistant", "content", g.text()));
    } else {
      choice.put("text", r.echo() ? tokenizer.decode(prompt) + g.text() : g.text());
    }
    choice.put("logprobs", logprobs);
    choice.put("finish_reason", "max_new_tokens".equals(g.stopReason()) ? "length" : "stop");
    return choice;
  }

  /** Streams one choice through {@code sse}; returns the token counts for the log. */
  String stream(Prepared p, Admission.Lease lease, SseStream sse) {
    CompletionRequest r = p.request();
    int[] ids = p.prompts().get(0);
    String prefix = r.chat() ? "chatcmpl-" : "cmpl-";
    String object = r.chat() ? "chat.completion.chunk" : "text_completion";
    Map<String, Object> head = envelope(prefix, object);
    if (r.chat()) {
      sse.send(chunk(head, true, Map.of("role", "assistant", "content", ""), null));
    } else if (r.echo()) {
      sse.send(chunk(head, false, tokenizer.decode(ids), null));
    }
    Consumer<String> send = text -> sse.send(chunk(head, r.chat(), r.chat() ? Map.of("content", text) : text, null));
    Generator.Result g = p.maxTokens() == 0 ? new Generator.Result(new int[0], "", "max_new_tokens")
        : lease.worker.generator().generate(ids, p.maxTokens(), sampler(r, 0), p.stops(), send);
    lease.release();
    sse.send(chunk(head, r.chat(), r.chat() ? Map.of() : "", "max_new_tokens".equals(g.stopReason()) ? "length"
        : "stop"));
    if (r.includeUsage()) {
      Map<String, Object> last = new LinkedHashMap<>(head);
      last.put("choices", List.of());
      last.put("usage", usage(ids.length, g.ids().length));
      sse.send(last);
    }
    return tokens(ids.length, g.ids().length);
  }

  private Map<String, Object> envelope(String prefix, String object) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", prefix + UUID.randomUUID().toString().replace("-", ""));
    body.put("object", object);
    body.put("created", System.currentTimeMillis() / 1000);
    body.put("model", modelName);
    return body;
  }

  private static Map<String, Object> chunk(Map<String, Object> head, boolean chat, Object piece, String finish) {
    Map<String, Object> choice = new LinkedHashMap<>();
    choice.put("index", 0);
    if (chat) {
      choice.put("delta", piece);
    } else {
      choice.put("text", piece);
      choice.put("logprobs", null);
    }
    choice.put("finish_reason", finish);
    Map<String, Object> body = new LinkedHashMap<>(head);
    body.put("choices", List.of(choice));
    return body;
  }

  static Map<String, Object> usage(int prompt, int completion) {
    Map<String, Object> u = new LinkedHashMap<>();
    u.put("prompt_tokens", prompt);
    u.put("completion_tokens", completion);
    u.put("total_tokens", prompt + completion);
    return u;
  }

  static String tokens(int prompt, int completion) {
    return "prompt " + prompt + " + completion " + completion + " tokens";
  }

  /** POST /tokenize (vLLM): {"prompt": text} → {"tokens", "count", "max_model_len"}. */
  Map<String, Object> tokenize(com.fasterxml.jackson.databind.JsonNode body) {
    if (body == null || !body.path("prompt").isTextual()) {
      throw ApiError.invalid("prompt", "'prompt' must be a string");
    }
    int[] ids = tokenizer.encodePrompt(body.get("prompt").asText());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tokens", ids);
    out.put("count", ids.length);
    out.put("max_model_len", contextLength);
    return out;
  }

  /** POST /detokenize (vLLM): {"tokens": [ids]} → {"prompt": text}. */
  Map<String, Object> detokenize(com.fasterxml.jackson.databind.JsonNode body) {
    com.fasterxml.jackson.databind.JsonNode t = body == null ? null : body.get("tokens");
    if (t == null || !t.isArray()) {
      throw ApiError.invalid("tokens", "'tokens' must be a list of token ids");
    }
    int[] ids = new int[t.size()];
    for (int i = 0; i < ids.length; i++) {
      if (!t.get(i).canConvertToInt() || !t.get(i).isIntegralNumber() || t.get(i).asInt() < 0
          || t.get(i).asInt() >= tokenizer.vocabSize()) {
        throw ApiError.invalid("tokens", "tokens[" + i + "] must be a token id in [0, " + tokenizer.vocabSize()
            + "), got " + t.get(i));
      }
      ids[i] = t.get(i).asInt();
    }
    return Map.of("prompt", tokenizer.decode(ids));
  }
}
