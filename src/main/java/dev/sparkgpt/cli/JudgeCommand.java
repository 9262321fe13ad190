package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.eval.judge.JudgeClient;
import dev.sparkgpt.eval.judge.LlmJudge;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt judge}: scores an instruction finetune's responses with a judge model over an OpenAI-style API. */
@Command(name = "judge", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Score responses.jsonl (from `finetune instruct`) 0-100 with a judge model behind an "
        + "OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, sparkgpt serve), as the book's chapter 7.")
public final class JudgeCommand implements Callable<Integer> {
  @Option(names = "--responses", required = true, paramLabel = "FILE",
      description = "{instruction, input, output, model_response} per line.")
  Path responses;

  @Option(names = "--endpoint", required = true, paramLabel = "URL",
      description = "API base, e.g. http://localhost:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (sparkgpt serve).")
  String endpoint;

  @Option(names = "--model", required = true, paramLabel = "NAME", description = "The judge model, e.g. llama3.")
  String model;

  @Option(names = "--out", paramLabel = "DIR",
      description = "judge.json, judge-scores.jsonl and the answer cache (default: the responses file's directory).")
  Path out;

  @Option(names = "--api-key-env", defaultValue = "OPENAI_API_KEY", paramLabel = "VAR",
      description = "Environment variable holding the API key, sent as a Bearer token (default: ${DEFAULT-VALUE}; "
          + "unset = no key).")
  String apiKeyEnv;

  @Option(names = "--concurrency", defaultValue = "4", description = "Requests in flight (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--retries", defaultValue = "4",
      description = "Retries per request on connection errors, timeouts, 429 and 5xx (default: ${DEFAULT-VALUE}).")
  int retries;

  @Option(names = "--backoff-ms", defaultValue = "1000",
      description = "First retry delay, doubled each retry (default: ${DEFAULT-VALUE}).")
  long backoffMs;

  @Option(names = "--timeout-s", defaultValue = "120", description = "Per-request timeout (default: ${DEFAULT-VALUE}).")
  long timeoutS;

  @Option(names = "--max-tokens", defaultValue = "32", description = "Judge answer length cap (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Override
  public Integer call() throws InterruptedException {
    if (concurrency < 1 || retries < 0 || backoffMs < 0 || timeoutS < 1 || maxTokens < 1) {
      throw new ConfigException("judge", "--concurrency, --timeout-s and --max-tokens must be ≥ 1, --retries and "
          + "--backoff-ms ≥ 0", "see judge --help");
    }
    if (!endpoint.startsWith("http://") && !endpoint.startsWith("https://")) {
      throw new ConfigException("--endpoint", "'" + endpoint + "' is not an http(s) URL",
          "e.g. --endpoint http://localhost:11434/v1");
    }
    List<LlmJudge.Item> items = LlmJudge.read(responses);
    JudgeClient client = new JudgeClient(endpoint, model, System.getenv(apiKeyEnv),
        new JudgeClient.Policy(retries, Duration.ofMillis(backoffMs), Duration.ofSeconds(timeoutS)), maxTokens);
    Path dir = out != null ? out : responses.toAbsolutePath().getParent();
    LlmJudge.run(items, client, model, dir, concurrency, System.out);
    System.out.printf("judge: report -> %s%n", dir.resolve(LlmJudge.REPORT));
    return 0;
  }
}
