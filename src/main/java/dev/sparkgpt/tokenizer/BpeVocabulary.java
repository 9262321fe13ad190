package dev.sparkgpt.tokenizer;

import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A byte-level BPE vocabulary (token bytes by id, the merges in rank order, {@code <|endoftext|>}) as held by a
 * GPT-2-format {@code encoder.json} + {@code vocab.bpe} pair; made by {@link BpeTrainer} or read from those files.
 *
 * <p>Invariants (checked by {@link #parse} for files, true by construction for the trainer): ids are 0..size-1;
 * every id but {@link #eotId()} is either one of the 256 single-byte tokens or the result of exactly one merge; a
 * merge's operands are byte tokens or results of earlier merges.
 */
public final class BpeVocabulary {
  /** The one special token: GPT-2's document separator. */
  public static final String ENDOFTEXT = "<|endoftext|>";
  /** Token (in GPT-2's byte alphabet) → id, a JSON object. */
  public static final String ENCODER_FILE = "encoder.json";
  /** "#version: 0.2" header, then one merge "left right" per line in rank order. */
  public static final String MERGES_FILE = "vocab.bpe";

  private final byte[][] tokens;
  private final int eotId;
  private final int[] mergeLeft;
  private final int[] mergeRight;
  private final int[] mergeResult;

  /** Trusted: callers (trainer, parser) guarantee the invariants in the class Javadoc. */
  BpeVocabulary(byte[][] tokens, int eotId, int[] mergeLeft, int[] mergeRight, int[] mergeResult) {
    this.tokens = tokens;
    this.eotId = eotId;
    this.mergeLeft = mergeLeft;
    this.mergeRight = mergeRight;
    this.mergeResult = mergeResult;
  }

  /**
   * Reads and checks a GPT-2-format pair of files given as bytes (a Spark driver reads them through Hadoop and
   * ships the bytes). {@code source} names their origin (a directory or a name) in error messages.
   *
   * @throws InputException naming the file, the offending token or line, and the fix
   */
  public static BpeVocabulary parse(String source, byte[] encoderJson, byte[] vocabBpe) {
    return Gpt2VocabFormat.parse(source, encoderJson, vocabBpe);
  }

  /** Reads {@code dir/encoder.json} and {@code dir/vocab.bpe}; a missing file is an InputException naming it. */
  public static BpeVocabulary read(Path dir) {
    return parse(dir.toString(), readFile(dir.resolve(ENCODER_FILE)), readFile(dir.resolve(MERGES_FILE)));
  }

  private static byte[] readFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new InputException(file + ": tokenizer file not found. Fix: pass 'gpt2' or a directory written by"
          + " 'sparkgpt train-tokenizer' (it holds " + ENCODER_FILE + " and " + MERGES_FILE + ")");
    }
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new InputException(file + ": cannot read tokenizer file: " + e.getMessage(), e);
    }
  }

  /** Ids in all, {@code <|endoftext|>} included. */
  public int size() {
    return tokens.length;
  }

  /** The id of {@code <|endoftext|>}. */
  public int eotId() {
    return eotId;
  }

  /** The number of merges (= size - 257). */
  public int mergeCount() {
    return mergeLeft.length;
  }

  /** A copy of the bytes of token {@code id} ({@code <|endoftext|>}'s UTF-8 for the eot id). */
  public byte[] tokenBytes(int id) {
    return tokens[id].clone();
  }

  /** Merge number {@code rank} (0 = first learned) as {left id, right id, result id}. */
  public int[] merge(int rank) {
    return new int[] {mergeLeft[rank], mergeRight[rank], mergeResult[rank]};
  }

  /**
   * Whether ids can serve as BPE ranks directly: merge results have increasing ids in merge order (true for GPT-2's
   * files and for BpeTrainer's output). Merging by smallest result id then equals merging by earliest merge.
   */
  public boolean idsAreRanks() {
    for (int i = 1; i < mergeResult.length; i++) {
      if (mergeResult[i] <= mergeResult[i - 1]) {
        return false;
      }
    }
    return true;
  }

  /**
   * The BPE rank of each id: the id itself when {@link #idsAreRanks()}, otherwise byte tokens 0..255 (in id order),
   * merge results 256 + merge number, and {@code <|endoftext|>} last. A permutation of 0..size-1 either way.
   */
  int[] ranks() {
    int[] ranks = new int[tokens.length];
    if (idsAreRanks()) {
      for (int id = 0; id < ranks.length; id++) {
        ranks[id] = id;
      }
      return ranks;
    }
    int next = 0;
    for (int id = 0; id < tokens.length; id++) {
      if (id != eotId && tokens[id].length == 1) {
        ranks[id] = next++;
      }
    }
    for (int i = 0; i < mergeResult.length; i++) {
      ranks[mergeResult[i]] = 256 + i;
    }
    ranks[eotId] = 256 + mergeResult.length;
    return ranks;
  }

  /** Token bytes by id, shared (not copied): for the tokenizer built from this vocabulary. */
  byte[][] tokensShared() {
    return tokens;
  }

  /**
   * Hex SHA-256 of the canonical form (see {@link #canonicalHash}), so equal vocabularies from different sources
   * (built-in r50k_base, GPT-2's files, a trained directory read through Hadoop) hash alike.
   */
  public String hash() {
    return canonicalHash(tokens, ranks(), eotId);
  }

  /**
   * The vocabulary hash: SHA-256 over "sparkgpt-bpe-v1" then, for every id in increasing order, a tag byte ('T'
   * token, 'S' special), the id, the BPE rank (-1 for the special token) and the byte length as big-endian int32,
   * then the token bytes. Ranks are included because they, not the merge list, decide how text is encoded.
   */
  static String canonicalHash(byte[][] tokens, int[] ranks, int eotId) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update("sparkgpt-bpe-v1".getBytes(StandardCharsets.US_ASCII));
      ByteBuffer header = ByteBuffer.allocate(13);
      for (int id = 0; id < tokens.length; id++) {
        header.clear();
        header.put((byte) (id == eotId ? 'S' : 'T')).putInt(id).putInt(id == eotId ? -1 : ranks[id])
            .putInt(tokens[id].length);
        sha.update(header.array());
        sha.update(tokens[id]);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** The encoder.json text in GPT-2's own layout (one line, ", " and ": " separators, non-ASCII as \\u escapes). */
  public byte[] encoderJson() {
    return Gpt2VocabFormat.writeEncoder(tokens, eotId);
  }

  /** The vocab.bpe text: "#version: 0.2", then "left right" per merge in rank order, each line ending in \n. */
  public byte[] vocabBpe() {
    return Gpt2VocabFormat.writeMerges(tokens, mergeLeft, mergeRight);
  }

  /** Writes encoder.json and vocab.bpe into {@code dir} (created if needed). */
  public void writeTo(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.write(dir.resolve(ENCODER_FILE), encoderJson());
      Files.write(dir.resolve(MERGES_FILE), vocabBpe());
    } catch (IOException e) {
      throw new OutputException(dir + ": cannot write " + ENCODER_FILE + " and " + MERGES_FILE + ": " + e.getMessage()
          + ". Fix: choose a writable directory", e);
    }
  }

  @Override
  public String toString() {
    return "BpeVocabulary[" + tokens.length + " ids, " + mergeLeft.length + " merges, eot " + eotId + "]";
  }
}
