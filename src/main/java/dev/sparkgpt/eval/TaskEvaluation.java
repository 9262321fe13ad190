package dev.sparkgpt.eval;

import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import dev.sparkgpt.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores one task: builds its requests (few-shot context, harness conventions of {@link Prompts}), has a
 * {@link RequestRunner} score them, and turns the scores into {@link TaskResult} metrics.
 */
public final class TaskEvaluation {
  private TaskEvaluation() {}

  /** Evaluates the first {@code limit} items of {@code task} (negative: all) with {@code shots} examples each. */
  public static TaskResult evaluate(Task task, int limit, int shots, long seed, Tokenizer tokenizer,
      RequestRunner runner) {
    if (limit == 0) {
      throw new IllegalArgumentException("limit must be ≥ 1, or negative for all items, got 0");
    }
    long start = System.nanoTime();
    FewShot fewShot = new FewShot(task, shots, seed);
    return task.kind() == Task.Kind.MULTIPLE_CHOICE
        ? multipleChoice(task, task.evaluated(limit), fewShot, tokenizer, runner, start)
        : lastWord(task, task.evaluated(limit), fewShot, tokenizer, runner, start);
  }

  private static double secondsSince(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  /** One request per choice; acc by the sum of log-probs, acc_norm by that sum per UTF-8 byte of the choice. */
  private static TaskResult multipleChoice(Task task, List<Task.Item> items, FewShot fewShot, Tokenizer tokenizer,
      RequestRunner runner, long start) {
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.Choice item = (Task.Choice) items.get(i);
      String context = fewShot.prefix(i) + item.query();
      for (String choice : item.choices()) {
        requests.add(Prompts.encodePair(tokenizer, context, Prompts.TARGET_DELIMITER + choice));
      }
    }
    Score[] scores = runner.score(requests);
    int correct = 0;
    int correctNorm = 0;
    int at = 0;
    for (Task.Item it : items) {
      Task.Choice item = (Task.Choice) it;
      double[] lls = new double[item.choices().size()];
      double[] normalised = new double[lls.length];
      for (int c = 0; c < lls.length; c++) {
        lls[c] = scores[at++].logProb();
        normalised[c] = lls[c] / item.choices().get(c).getBytes(StandardCharsets.UTF_8).length;
      }
      correct += argmax(lls) == item.gold() ? 1 : 0;
      correctNorm += argmax(normalised) == item.gold() ? 1 : 0;
    }
    int n = items.size();
    return new TaskResult(n, (double) correct / n, (double) correctNorm / n, TaskResult.meanStderr(correct, n),
        TaskResult.meanStderr(correctNorm, n), null, secondsSince(start), fewShot.shots(), requests.size(),
        "multiple_choice", task.path());
  }

  /** One request per item: " " + last word after the text before it; right iff every word token is the argmax. */
  private static TaskResult lastWord(Task task, List<Task.Item> items, FewShot fewShot, Tokenizer tokenizer,
      RequestRunner runner, long start) {
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Task.LastWord item = (Task.LastWord) items.get(i);
      requests.add(Prompts.encodePair(tokenizer, fewShot.prefix(i) + item.context(),
          Prompts.TARGET_DELIMITER + item.word()));
    }
    Score[] scores = runner.score(requests);
    int correct = 0;
    double logProbs = 0;
    for (Score score : scores) {
      correct += score.greedy() ? 1 : 0;
      logProbs += score.logProb();
    }
    int n = items.size();
    return new TaskResult(n, (double) correct / n, null, TaskResult.meanStderr(correct, n), null,
        Math.exp(-logProbs / n), secondsSince(start), fewShot.shots(), requests.size(), "last_word", task.path());
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
