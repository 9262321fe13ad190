package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of the train-tokenizer job: a corpus → a byte-level BPE vocabulary ({@code encoder.json} +
 * {@code vocab.bpe}) that {@code tokenize --tokenizer DIR} uses.
 *
 * @param input files, directories or globs (.txt, .txt.gz, .jsonl, .jsonl.gz, .parquet)
 * @param output directory that receives encoder.json, vocab.bpe, tokenizer.json (stats) and _SUCCESS
 * @param overwrite replace a finished output
 * @param vocabSize ids in all: 256 byte tokens + merges + {@code <|endoftext|>}
 * @param format auto (by extension), txt, jsonl or parquet
 * @param textField JSON field / Parquet column holding the text
 * @param docSeparator for .txt: a line equal to this separates documents; null = one document per file
 * @param normalizeNewlines turn \r\n and \r into \n
 * @param minWordCount pre-tokenized words seen fewer times are ignored (speeds up training on big corpora)
 */
public record TrainTokenizerConfig(
    List<String> input,
    String output,
    boolean overwrite,
    int vocabSize,
    String format,
    String textField,
    String docSeparator,
    boolean normalizeNewlines,
    int minWordCount) {

  public TrainTokenizerConfig {
    input = input == null ? List.of() : List.copyOf(input);
  }

  /** Defaults: every key present. */
  public static TrainTokenizerConfig defaults() {
    return new TrainTokenizerConfig(List.of(), null, false, 4096, "auto", "text", null, true, 1);
  }

  /** Throws one ConfigException listing every problem, if any. */
  public TrainTokenizerConfig validate() {
    List<String> problems = new ArrayList<>();
    if (input.isEmpty()) {
      problems.add("input: no input given. Fix: --input PATH[,PATH...]");
    }
    if (output == null || output.isBlank()) {
      problems.add("output: no output directory given. Fix: --output DIR");
    }
    if (vocabSize < 257) {
      problems.add("vocab_size: must be at least 257 (256 byte tokens + <|endoftext|>), got " + vocabSize);
    }
    if (!TokenizeConfig.FORMATS.contains(format)) {
      problems.add("format: '" + format + "' is not one of " + TokenizeConfig.FORMATS);
    }
    if (minWordCount < 1) {
      problems.add("min_word_count: must be ≥ 1, got " + minWordCount);
    }
    if (!problems.isEmpty()) {
      throw new ConfigException("train-tokenizer config", String.join("; ", problems), "correct the keys named above");
    }
    return this;
  }
}
