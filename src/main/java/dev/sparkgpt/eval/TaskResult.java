package dev.sparkgpt.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The metrics of one task as report.json holds them. Standard errors are those of a mean of 0/1 scores, the
 * harness's {@code mean_stderr}: sample standard deviation / √n, which for a proportion p is √(p(1−p)/(n−1));
 * absent when n < 2.
 *
 * @param n items scored
 * @param acc multiple choice: the highest-log-likelihood choice is gold; last word: greedy decoding gives the word
 * @param accNorm multiple choice: the highest log-likelihood per character of the choice is gold (the harness's
 *     acc_norm: Python's len, code points)
 * @param perplexity last word: exp(−mean log-likelihood of the word), the harness's LAMBADA perplexity
 * @param seconds wall time of the task: encoding, scoring and metrics
 * @param numFewshot examples before each item
 * @param requests loglikelihood requests scored (one per choice, or one per item)
 * @param kind multiple_choice, last_word or classification
 * @param file the task file
 * @param loss classification: mean cross-entropy of the true label
 * @param labels classification: the checkpoint's labels, in class-id order
 * @param confusion classification: counts, rows = true label, columns = predicted
 * @param accBytes multiple choice: the highest log-likelihood per UTF-8 byte of the choice is gold (SparkGPT's
 *     acc_norm before it followed the harness)
 * @param accBytesStderr its standard error
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TaskResult(int n, double acc, Double accNorm, Double accStderr, Double accNormStderr, Double perplexity,
    double seconds, int numFewshot, long requests, String kind, String file, Double loss, List<String> labels,
    long[][] confusion, Double accBytes, Double accBytesStderr) {

  /** A result without the bytes-normalised accuracy (classification). */
  public TaskResult(int n, double acc, Double accNorm, Double accStderr, Double accNormStderr, Double perplexity,
      double seconds, int numFewshot, long requests, String kind, String file, Double loss, List<String> labels,
      long[][] confusion) {
    this(n, acc, accNorm, accStderr, accNormStderr, perplexity, seconds, numFewshot, requests, kind, file, loss, labels,
        confusion, null, null);
  }

  /** A multiple-choice or last-word result. */
  public TaskResult(int n, double acc, Double accNorm, Double accStderr, Double accNormStderr, Double perplexity,
      double seconds, int numFewshot, long requests, String kind, String file) {
    this(n, acc, accNorm, accStderr, accNormStderr, perplexity, seconds, numFewshot, requests, kind, file, null, null,
        null);
  }

  /** Standard error of the mean of {@code n} scores of which {@code correct} are 1; null when n < 2. */
  public static Double meanStderr(long correct, long n) {
    if (n < 2) {
      return null;
    }
    double p = (double) correct / n;
    return Math.sqrt(p * (1 - p) / (n - 1));
  }

  /** The same metrics with another wall time (results of two runs differ only there). */
  public TaskResult withSeconds(double newSeconds) {
    return new TaskResult(n, acc, accNorm, accStderr, accNormStderr, perplexity, newSeconds, numFewshot, requests,
        kind, file, loss, labels, confusion, accBytes, accBytesStderr);
  }
}
