package dev.sparkgpt.eval;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Language-modelling metrics of one data source, as report.json holds them.
 *
 * @param tokens target tokens scored (each once)
 * @param meanNll mean negative log-likelihood per target token, in nats
 * @param perplexity exp(mean_nll)
 * @param bitsPerByte NLL sum / ln 2 / bytes
 * @param bytes UTF-8 bytes of the scored text (see {@link Perplexity} for how they are counted)
 * @param seconds wall time: reading, scoring, metrics
 * @param kind "shards" (a tokenize output's split) or "text" (a raw .txt file)
 * @param split the shard split scored; absent for text
 * @param path the data as given in the config
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PerplexityResult(long tokens, double meanNll, double perplexity, double bitsPerByte, long bytes,
    double seconds, String kind, String split, String path) {

  /** The metrics of {@code tokens} targets whose log-likelihoods sum to {@code logProbSum}. */
  static PerplexityResult of(double logProbSum, long tokens, long bytes, double seconds, String kind, String split,
      String path) {
    double nll = -logProbSum;
    return new PerplexityResult(tokens, nll / tokens, Math.exp(nll / tokens), nll / Math.log(2) / bytes, bytes,
        seconds, kind, split, path);
  }
}
