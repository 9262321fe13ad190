package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores one task: builds its requests (few-shot context, harness conventions of {@link Prompts}), has a
 * {@link RequestRunner} score them, and turns the scores into {@link TaskResult} metrics and one
 * {@link HarnessSample} per item (what lm-evaluation-harness writes with {@code --log_samples}).
 */
public final class TaskEvaluation {
  private TaskEvaluation() {}

  /** A task's metrics and its per-item samples. */
  public record Evaluated(TaskResult result, List<HarnessSample> samples) {}

  /** Evaluates the first {@code limit} items of {@code task} (negative: all) with {@code shots} examples each. */
  public static TaskResult evaluate(Task task, int limit, int shots, long seed, Tokenizer tokenizer,
      RequestRunner runner) {
    return evaluateWithSamples(task, limit, shots, seed, tokenizer, runner).result();
  }

  /** {@link #evaluate}, keeping every item's requests, scores and metrics. */
  public static Evaluated evaluateWithSamples(Task task, int limit, int shots, long seed, Tokenizer tokenizer,
      RequestRunner runner) {
    if (limit == 0) {
      throw new IllegalArgumentException("limit must be ≥ 1, or negative for all items, got 0");
    }
    long start = System.nanoTime();
    FewShot fewShot = new FewShot(task, shots, seed);
    return switch (task.kind()) {
      case MULTIPLE_CHOICE -> multipleChoice(task, task.evaluated(limit), fewShot, tokenizer, runner, start);
      case PARTIAL_CHOICE -> partial(task, task.evaluated(limit), fewShot, tokenizer, runner, start);
      case LAST_WORD -> lastWord(task, task.evaluated(limit), fewShot, tokenizer, runner, start);
    };
  }

  private static double secondsSince(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  /**
   * One request per choice; acc by the sum of log-probs, acc_norm by that sum per character of the choice (the
   * harness's {@code len(choice)}: code points), acc_bytes per UTF-8 byte.
   */
  private static Evaluated multipleChoice(Task task, List<Task.Item> items, FewShot fewShot, Tokenizer tokenizer,
      RequestRunner runner, long start) {
    List<Request> requests = new ArrayList<>();
    List<String> contexts = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.Choice item = (Task.Choice) items.get(i);
      String context = fewShot.prefix(i) + item.query();
      contexts.add(context);
      for (String choice : item.choices()) {
        requests.add(Prompts.encodePair(tokenizer, context, Prompts.TARGET_DELIMITER + choice));
      }
    }
    Score[] scores = runner.score(requests);
    int correct = 0;
    int correctNorm = 0;
    int correctBytes = 0;
    int at = 0;
    List<HarnessSample> samples = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.Choice item = (Task.Choice) items.get(i);
      int k = item.choices().size();
      double[] lls = new double[k];
      double[] perChar = new double[k];
      double[] perByte = new double[k];
      List<Score> itemScores = new ArrayList<>();
      for (int c = 0; c < k; c++) {
        Score s = scores[at++];
        itemScores.add(s);
        String choice = item.choices().get(c);
        lls[c] = s.logProb();
        perChar[c] = lls[c] / choice.codePointCount(0, choice.length());
        perByte[c] = lls[c] / choice.getBytes(StandardCharsets.UTF_8).length;
      }
      int acc = argmax(lls) == item.gold() ? 1 : 0;
      int accNorm = argmax(perChar) == item.gold() ? 1 : 0;
      int accBytes = argmax(perByte) == item.gold() ? 1 : 0;
      correct += acc;
      correctNorm += accNorm;
      correctBytes += accBytes;
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("query", item.query());
      doc.put("choices", item.choices());
      doc.put("gold", item.gold());
      doc.put("line", item.line());
      List<String[]> arguments = new ArrayList<>();
      for (String choice : item.choices()) {
        arguments.add(new String[] {contexts.get(i), Prompts.TARGET_DELIMITER + choice});
      }
      Map<String, Double> metrics = new LinkedHashMap<>();
      metrics.put("acc", (double) acc);
      metrics.put("acc_norm", (double) accNorm);
      metrics.put("acc_bytes", (double) accBytes);
      samples.add(HarnessSample.of(i, doc, String.valueOf(item.gold()), arguments, itemScores, metrics));
    }
    int n = items.size();
    TaskResult result = new TaskResult(n, (double) correct / n, (double) correctNorm / n,
        TaskResult.meanStderr(correct, n), TaskResult.meanStderr(correctNorm, n), null, secondsSince(start),
        fewShot.shots(), requests.size(), "multiple_choice", task.path(), null, null, null, (double) correctBytes / n,
        TaskResult.meanStderr(correctBytes, n));
    return new Evaluated(result, samples);
  }

  /**
   * One request per item: " " + last word after the text before it; acc: every word token is the argmax;
   * perplexity: exp(−mean ln p(word)), lm-eval's lambada_openai metrics.
   */
  private static Evaluated lastWord(Task task, List<Task.Item> items, FewShot fewShot, Tokenizer tokenizer,
      RequestRunner runner, long start) {
    List<Request> requests = new ArrayList<>();
    List<String> contexts = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.LastWord item = (Task.LastWord) items.get(i);
      contexts.add(fewShot.prefix(i) + item.context());
      requests.add(Prompts.encodePair(tokenizer, contexts.get(i), Prompts.TARGET_DELIMITER + item.word()));
    }
    Score[] scores = runner.score(requests);
    int correct = 0;
    double logProbs = 0;
    List<HarnessSample> samples = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      Task.LastWord item = (Task.LastWord) items.get(i);
      Score score = scores[i];
      correct += score.greedy() ? 1 : 0;
      logProbs += score.logProb();
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("text", item.solved());
      doc.put("line", item.line());
      Map<String, Double> metrics = new LinkedHashMap<>();
      metrics.put("acc", score.greedy() ? 1.0 : 0.0);
      metrics.put("perplexity", score.logProb()); // the harness logs the item's log-likelihood under this name
      samples.add(HarnessSample.of(i, doc, Prompts.TARGET_DELIMITER + item.word(), List.<String[]>of(
          new String[] {contexts.get(i), Prompts.TARGET_DELIMITER + item.word()}), List.of(score), metrics));
    }
    int n = items.size();
    TaskResult result = new TaskResult(n, (double) correct / n, null, TaskResult.meanStderr(correct, n), null,
        Math.exp(-logProbs / n), secondsSince(start), fewShot.shots(), requests.size(), "last_word", task.path());
    return new Evaluated(result, samples);
  }

  /**
   * Partial scoring (lm-eval's Winogrande): one request per context, each scoring the shared continuation after
   * it; acc = the context under which the continuation is most likely is gold (no length normalisation: the
   * scored text is the same for every choice).
   */
  private static Evaluated partial(Task task, List<Task.Item> items, FewShot fewShot, Tokenizer tokenizer,
      RequestRunner runner, long start) {
    List<Request> requests = new ArrayList<>();
    List<String[]> pairs = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.Partial item = (Task.Partial) items.get(i);
      for (String context : item.contexts()) {
        String full = fewShot.prefix(i) + context;
        pairs.add(new String[] {full, Prompts.TARGET_DELIMITER + item.continuation()});
        requests.add(Prompts.encodePair(tokenizer, full, Prompts.TARGET_DELIMITER + item.continuation()));
      }
    }
    Score[] scores = runner.score(requests);
    int correct = 0;
    int at = 0;
    List<HarnessSample> samples = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.Partial item = (Task.Partial) items.get(i);
      int k = item.contexts().size();
      double[] lls = new double[k];
      List<Score> itemScores = new ArrayList<>();
      List<String[]> itemPairs = pairs.subList(at, at + k);
      for (int c = 0; c < k; c++) {
        itemScores.add(scores[at]);
        lls[c] = scores[at++].logProb();
      }
      int acc = argmax(lls) == item.gold() ? 1 : 0;
      correct += acc;
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("contexts", item.contexts());
      doc.put("continuation", item.continuation());
      doc.put("gold", item.gold());
      doc.put("line", item.line());
      samples.add(HarnessSample.of(i, doc, Prompts.TARGET_DELIMITER + item.continuation(), itemPairs, itemScores,
          Map.of("acc", (double) acc)));
    }
    int n = items.size();
    TaskResult result = new TaskResult(n, (double) correct / n, null, TaskResult.meanStderr(correct, n), null,
        null, secondsSince(start), fewShot.shots(), requests.size(), "partial_choice", task.path());
    return new Evaluated(result, samples);
  }

  /** The first index of the largest value (numpy's argmax). */
  static int argmax(double[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }
}
