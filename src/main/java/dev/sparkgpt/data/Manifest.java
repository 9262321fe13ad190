package dev.sparkgpt.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a tokenize output: what the shards hold and how they were made. Pretraining checks the
 * tokenizer hash and seq_len against it before reading a single row.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(
    String format,
    int formatVersion,
    String createdBy,
    TokenizerInfo tokenizer,
    int seqLen,
    int rowTokens,
    int stride,
    int padId,
    String splitMode,
    Map<String, SplitInfo> splits,
    long totalTokens,
    long inputFiles,
    long inputBytes,
    long documentsRead,
    long droppedDuplicates,
    long droppedShort,
    long invalidUtf8Files,
    Map<String, Object> config,
    Long invalidUtf8Bytes,
    Long bomFiles,
    Long truncatedDocuments,
    Long skippedLongDocuments,
    Long sniffedTextFiles) {

  /** The manifest without the reading counts added in later releases (null: not recorded). */
  public Manifest(String format, int formatVersion, String createdBy, TokenizerInfo tokenizer, int seqLen,
      int rowTokens, int stride, int padId, String splitMode, Map<String, SplitInfo> splits, long totalTokens,
      long inputFiles, long inputBytes, long documentsRead, long droppedDuplicates, long droppedShort,
      long invalidUtf8Files, Map<String, Object> config) {
    this(format, formatVersion, createdBy, tokenizer, seqLen, rowTokens, stride, padId, splitMode, splits,
        totalTokens, inputFiles, inputBytes, documentsRead, droppedDuplicates, droppedShort, invalidUtf8Files, config,
        null, null, null, null, null);
  }

  /** Identifies the vocabulary the ids belong to. */
  public record TokenizerInfo(String name, String hash, int vocabSize, int eotId) {}

  /** One split (train or val): counts and its shard files (paths relative to the output directory). */
  public record SplitInfo(long tokens, long rows, long documents, List<ShardFile> shards) {}

  /** One Parquet file of a split; {@code sha256} (hex) is checked by readers when present. */
  public record ShardFile(String path, long rows, long bytes, String sha256) implements java.io.Serializable {
    public ShardFile(String path, long rows, long bytes) {
      this(path, rows, bytes, null);
    }
  }

  public static final String FILE = "manifest.json";
}
