package dev.sparkgpt.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Settings of the tokenize job: raw corpora → packed Parquet token shards (see docs/shard-format.md).
 *
 * @param input files, directories or globs (.txt, .jsonl, .parquet; .gz/.zst/.bz2/.xz); Hadoop paths
 * @param output directory that receives train/, val/, manifest.json and _SUCCESS
 * @param overwrite replace a finished output instead of doing nothing
 * @param tokenizer "gpt2" or a directory holding encoder.json + vocab.bpe (from train-tokenizer)
 * @param seqLen tokens per training window; each row holds seq_len + 1 tokens
 * @param format auto (by file extension), txt, jsonl or parquet
 * @param textField JSON field / Parquet column holding the text; a.b reaches into nested objects
 * @param docSeparator for .txt: a line equal to this separates documents; null = one document per file
 * @param normalizeNewlines turn \r\n and \r into \n
 * @param minChars documents shorter than this (after normalisation) are dropped
 * @param dedup drop exact duplicate documents (by content hash)
 * @param valFraction fraction of documents (or tokens) held out for validation
 * @param split "documents": val chosen by document hash; "tokens": the last val_fraction of the token stream
 * @param seed salts the document hash of the train/val split
 * @param numShards about this many input splits, hence shard files per split; 0 = automatic (see split_mb)
 * @param chunkChars long documents are cut (only where ids cannot change) into pieces of about this many chars
 *     (64 Ki by default: larger pieces make arrays over 1 MB, which G1 allocates as humongous objects, measured ~10%
 *     slower tokenizing at 1 Mi)
 * @param maxDocChars a JSON or Parquet text longer than this is cut to it (counted); longer JSONL lines are skipped
 * @param splitMb largest byte range of an input file one task reads and encodes; small corpora are cut finer
 * @param zstdLevel zstd level of the shard files, 1 (fastest) to 19; 1 by default: it writes ~30% faster than
 *     Parquet's default 3 for ~10% larger token shards (measured in docs/decisions.md)
 */
public record TokenizeConfig(
    List<String> input,
    String output,
    boolean overwrite,
    String tokenizer,
    int seqLen,
    String format,
    String textField,
    String docSeparator,
    boolean normalizeNewlines,
    int minChars,
    boolean dedup,
    double valFraction,
    SplitBy split,
    long seed,
    int numShards,
    int chunkChars,
    int maxDocChars,
    int splitMb,
    int zstdLevel) {

  public static final Set<String> FORMATS = Set.of("auto", "txt", "jsonl", "parquet");

  public TokenizeConfig {
    input = input == null ? List.of() : List.copyOf(input);
  }

  /** Defaults: every key present, as in conf/tokenize/*.yaml. */
  public static TokenizeConfig defaults() {
    return new TokenizeConfig(List.of(), null, false, "gpt2", 256, "auto", "text", null, true, 1, true, 0.1,
        SplitBy.DOCUMENTS, 1337L, 0, 1 << 16, 10_000_000, 32, 1);
  }

  /** Every problem of this config at once (LitGPT's validate_args); empty when usable. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    if (input.isEmpty()) {
      problems.add("input: no input given. Fix: --input PATH[,PATH...] or 'input:' in the YAML");
    }
    if (output == null || output.isBlank()) {
      problems.add("output: no output directory given. Fix: --output DIR or 'output:' in the YAML");
    }
    if (seqLen < 1) {
      problems.add("seq_len: must be at least 1, got " + seqLen + ". Fix: e.g. --set seq_len=256");
    }
    if (!FORMATS.contains(format)) {
      problems.add("format: '" + format + "' is not one of " + FORMATS);
    }
    if (split == null) {
      problems.add("split: must be one of " + java.util.Arrays.toString(SplitBy.values()));
    }
    if (!(valFraction >= 0 && valFraction < 1)) {
      problems.add("val_fraction: must be in [0, 1), got " + valFraction);
    }
    if (minChars < 0) {
      problems.add("min_chars: must be ≥ 0, got " + minChars);
    }
    if (numShards < 0) {
      problems.add("num_shards: must be ≥ 0 (0 = automatic), got " + numShards);
    }
    if (chunkChars < 1024) {
      problems.add("chunk_chars: must be ≥ 1024, got " + chunkChars);
    }
    if (maxDocChars < 1024) {
      problems.add("max_doc_chars: must be ≥ 1024, got " + maxDocChars);
    }
    if (splitMb < 1 || splitMb > 1024) {
      problems.add("split_mb: must be in [1, 1024], got " + splitMb);
    }
    if (zstdLevel < 1 || zstdLevel > 19) {
      problems.add("zstd_level: must be in [1, 19] (1 = fastest), got " + zstdLevel);
    }
    if (textField == null || textField.isBlank()) {
      problems.add("text_field: must name a JSON field or Parquet column");
    }
    return problems;
  }

  /** Throws one ConfigException listing every problem, if any. */
  public TokenizeConfig validate() {
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new ConfigException("tokenize config", String.join("; ", problems), "correct the keys named above");
    }
    return this;
  }
}
