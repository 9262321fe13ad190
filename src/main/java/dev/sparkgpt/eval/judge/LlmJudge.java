package dev.sparkgpt.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.eval.EvalException;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.OutputException;
import dev.sparkgpt.io.Progress;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The book's conversational evaluation (chapter 7): a judge model scores each instruction-finetuned response against
 * the reference output from 0 to 100. Answers are cached per item (judge model + prompt) in
 * {@code OUT/judge-cache.jsonl} as they arrive, so an interrupted or partly failed run loses nothing and a re-run
 * asks only what is missing. Writes {@code OUT/judge.json} (mean, distribution, counts) and
 * {@code OUT/judge-scores.jsonl} (one line per item).
 */
public final class LlmJudge {
  public static final String CACHE = "judge-cache.jsonl";
  public static final String REPORT = "judge.json";
  public static final String SCORES = "judge-scores.jsonl";
  private static final Pattern INTEGER = Pattern.compile("(?<![\\d.])(\\d+)(?!\\.?\\d)");

  /** One line of responses.jsonl. */
  public record Item(int line, String instruction, String input, String output, String response) {}

  /** What a run found: counts, the mean of the parsed scores and their distribution by tens. */
  public record Report(int n, int scored, int unparsed, int failed, double meanScore, Map<String, Integer> histogram,
      int asked, int fromCache) {}

  private LlmJudge() {}

  /** Reads {instruction, input, output, model_response} lines (the instruct finetune's responses.jsonl). */
  public static List<Item> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new InputException(file + ": no such file. Fix: give the responses.jsonl a `finetune instruct` run "
          + "wrote (--responses RUN_DIR/responses.jsonl)");
    } catch (IOException e) {
      throw new InputException(file + ": cannot read: " + e.getMessage());
    }
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = JsonFiles.MAPPER.readTree(line);
      } catch (IOException e) {
        throw new InputException(file + ":" + (i + 1) + ": not a JSON object. Fix: one {\"instruction\", \"input\", "
            + "\"output\", \"model_response\"} object per line");
      }
      for (String field : List.of("instruction", "output", "model_response")) {
        if (!n.path(field).isTextual()) {
          throw new InputException(file + ":" + (i + 1) + ": field '" + field + "' missing or not a string. Fix: "
              + "each line needs instruction, output and model_response (input optional)");
        }
      }
      items.add(new Item(i + 1, n.get("instruction").asText(), n.path("input").asText(""), n.get("output").asText(),
          n.get("model_response").asText()));
    }
    if (items.isEmpty()) {
      throw new InputException(file + ": no responses in it");
    }
    return items;
  }

  /** The book's judge prompt, with the entry formatted as the model saw it (Alpaca, without the response header). */
  public static String prompt(Item item) {
    return "Given the input `" + InstructionTemplate.ALPACA.formatInput(item.instruction(), item.input()) + "` "
        + "and correct output `" + item.output() + "`, "
        + "score the model response `" + item.response() + "`"
        + " on a scale from 0 to 100, where 100 is the best score. "
        + "Respond with the integer number only.";
  }

  /** The first whole number from 0 to 100 in {@code answer} ("85", "Score: 85/100", "**85**"), else null. */
  public static Integer parseScore(String answer) {
    Matcher m = INTEGER.matcher(answer);
    while (m.find()) {
      if (m.group(1).length() <= 3 && Integer.parseInt(m.group(1)) <= 100) {
        int v = Integer.parseInt(m.group(1));
        return v;
      }
    }
    return null;
  }

  /**
   * Scores {@code items} with {@code concurrency} requests in flight, writes the outputs under {@code out} and
   * returns the report. Items the endpoint never answered are counted as failed and the run then throws, naming
   * the cause, after writing what it has (their answers are missing from the cache, so a re-run asks them).
   */
  public static Report run(List<Item> items, JudgeClient client, String judgeModel, Path out, int concurrency,
      PrintStream console) throws InterruptedException {
    long start = System.nanoTime();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new OutputException(out + ": cannot create the output directory: " + e.getMessage());
    }
    Path cacheFile = out.resolve(CACHE);
    Map<String, JsonNode> cache = loadCache(cacheFile, console);
    String[] answers = new String[items.size()];
    boolean[] done = new boolean[items.size()];
    List<Integer> missing = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      JsonNode hit = cache.get(key(judgeModel, prompt(items.get(i))));
      if (hit != null) {
        answers[i] = hit.get("answer").asText();
        done[i] = true;
      } else {
        missing.add(i);
      }
    }
    int fromCache = items.size() - missing.size();
    console.printf("judge: %d responses, %d cached, asking %s (model %s) for %d with %d in flight%n", items.size(),
        fromCache, client.url(), judgeModel, missing.size(), concurrency);
    AtomicInteger finished = new AtomicInteger();
    AtomicReference<String> lastFailure = new AtomicReference<>();
    AtomicReference<String> refused = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, concurrency), r -> {
      Thread t = new Thread(r, "judge");
      t.setDaemon(true);
      return t;
    });
    try (BufferedWriter cacheOut = Files.newBufferedWriter(cacheFile, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Progress progress = Progress.start("judge", Math.max(1, missing.size()), "items", 1, finished::get,
            () -> "")) {
      List<Future<?>> futures = new ArrayList<>();
      for (int i : missing) {
        futures.add(pool.submit(() -> {
          if (refused.get() != null) {
            return;
          }
          String prompt = prompt(items.get(i));
          try {
            String answer = client.ask(prompt);
            answers[i] = answer;
            done[i] = true;
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("key", key(judgeModel, prompt));
            line.put("answer", answer);
            synchronized (cacheOut) {
              cacheOut.write(JsonFiles.line(line));
              cacheOut.flush();
            }
          } catch (JudgeClient.Refused e) {
            refused.compareAndSet(null, e.getMessage());
          } catch (JudgeClient.Unreachable e) {
            lastFailure.set(e.getMessage());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          } finally {
            finished.incrementAndGet();
          }
        }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          throw new OutputException(cacheFile + ": cannot append: " + e.getCause().getMessage());
        }
      }
      progress.finish(missing.size(), "");
    } catch (IOException e) {
      throw new OutputException(cacheFile + ": cannot write: " + e.getMessage());
    } finally {
      pool.shutdownNow();
    }
    Report report = summarize(items, answers, done, missing.size(), fromCache);
    write(out, items, answers, report, judgeModel, client, (System.nanoTime() - start) / 1e9);
    print(report, console);
    if (refused.get() != null) {
      throw new EvalException("judge: " + refused.get() + ". Fix: check --endpoint, --model and the API key "
          + "variable (--api-key-env); " + (report.n() - report.failed()) + " answers are kept in " + cacheFile);
    }
    if (report.failed() > 0) {
      throw new EvalException("judge: " + report.failed() + " of " + report.n() + " responses got no answer: "
          + lastFailure.get() + ". The " + (report.n() - report.failed()) + " answers so far are kept in "
          + cacheFile + "; re-run the same command to ask only the missing ones");
    }
    return report;
  }

  private static Map<String, JsonNode> loadCache(Path file, PrintStream console) {
    Map<String, JsonNode> cache = new ConcurrentHashMap<>();
    if (!Files.exists(file)) {
      return cache;
    }
    int broken = 0;
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        try {
          JsonNode n = JsonFiles.MAPPER.readTree(line);
          if (n != null && n.path("key").isTextual() && n.path("answer").isTextual()) {
            cache.put(n.get("key").asText(), n);
            continue;
          }
        } catch (IOException e) {
          // a line cut off by a crash: asked again
        }
        broken++;
      }
    } catch (IOException e) {
      throw new InputException(file + ": cannot read the judge cache: " + e.getMessage() + ". Fix: delete it");
    }
    if (broken > 0) {
      console.printf("judge: %d unreadable line(s) in %s ignored (asked again)%n", broken, file);
    }
    return cache;
  }

  static String key(String judgeModel, String prompt) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest((judgeModel + "\n" + prompt).getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Report summarize(List<Item> items, String[] answers, boolean[] done, int asked, int fromCache) {
    Map<String, Integer> histogram = new LinkedHashMap<>();
    for (int b = 0; b < 10; b++) {
      histogram.put(b == 9 ? "90-100" : (b * 10) + "-" + (b * 10 + 9), 0);
    }
    int scored = 0;
    int unparsed = 0;
    int failed = 0;
    double sum = 0;
    for (int i = 0; i < items.size(); i++) {
      if (!done[i]) {
        failed++;
        continue;
      }
      Integer s = parseScore(answers[i]);
      if (s == null) {
        unparsed++;
        continue;
      }
      scored++;
      sum += s;
      int b = Math.min(9, s / 10);
      histogram.merge(b == 9 ? "90-100" : (b * 10) + "-" + (b * 10 + 9), 1, Integer::sum);
    }
    return new Report(items.size(), scored, unparsed, failed, scored == 0 ? Double.NaN : sum / scored, histogram,
        asked, fromCache);
  }

  private static void write(Path out, List<Item> items, String[] answers, Report report, String judgeModel,
      JudgeClient client, double seconds) {
    StringBuilder scores = new StringBuilder();
    for (int i = 0; i < items.size(); i++) {
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("line", items.get(i).line());
      line.put("instruction", items.get(i).instruction());
      line.put("score", answers[i] == null ? null : parseScore(answers[i]));
      line.put("judge_answer", answers[i]);
      scores.append(JsonFiles.line(line));
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("judge_model", judgeModel);
    json.put("endpoint", client.url().toString());
    json.put("n", report.n());
    json.put("scored", report.scored());
    json.put("unparsed", report.unparsed());
    json.put("failed", report.failed());
    json.put("mean_score", Double.isNaN(report.meanScore()) ? null : report.meanScore());
    json.put("histogram", report.histogram());
    json.put("asked", report.asked());
    json.put("from_cache", report.fromCache());
    json.put("seconds", seconds);
    atomicWrite(out.resolve(SCORES), scores.toString());
    atomicWrite(out.resolve(REPORT), JsonFiles.toJson(json));
  }

  private static void atomicWrite(Path target, String text) {
    try {
      Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new OutputException(target + ": cannot write: " + e.getMessage());
    }
  }

  private static void print(Report r, PrintStream console) {
    console.printf("%n| judge | n | scored | unparsed | failed | mean score |%n|---|---:|---:|---:|---:|---:|%n");
    console.printf("| | %d | %d | %d | %d | %s |%n", r.n(), r.scored(), r.unparsed(), r.failed(),
        Double.isNaN(r.meanScore()) ? "-" : String.format("%.2f", r.meanScore()));
    StringBuilder h = new StringBuilder("scores:");
    r.histogram().forEach((bucket, count) -> h.append(' ').append(bucket).append(':').append(count));
    console.println(h);
  }
}
