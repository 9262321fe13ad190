package dev.sparkgpt.report;

/**
 * One data source's perplexity in one eval report (the {@code perplexity} object of {@code sparkgpt eval}'s
 * report.json) found in a run directory.
 *
 * @param data the source as the report names it (a tokenize output or a .txt file)
 * @param step the training step of the checkpoint evaluated, or null when the report does not say
 * @param file the report file, relative to the run directory
 * @param tokens target tokens scored, or null
 * @param perplexity exp(mean negative log-likelihood per token)
 * @param bitsPerByte negative log-likelihood in bits per UTF-8 byte of the text, or null
 */
public record PerplexityPoint(String data, Long step, String file, Long tokens, double perplexity,
    Double bitsPerByte) {}
