package dev.sparkgpt.data;

import dev.sparkgpt.tokenizer.TextSplitter;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * Documents cut into pieces that can be encoded independently (cuts only where ids cannot change), each tagged with
 * its document's content hash and train/val split.
 */
public final class Pieces {
  private Pieces() {}

  /** A piece of a document's text; {@code last} marks the document's final piece (it gets the end-of-text id). */
  public record Piece(long docId, int piece, boolean last, int split, String text) implements Serializable {}

  /** A piece after encoding. */
  public record Encoded(long docId, int piece, int split, int[] ids) implements Serializable {
    /** The size the driver needs to lay out the streams. */
    public BlockPacker.PieceCount count() {
      return new BlockPacker.PieceCount(new BlockPacker.PieceKey(docId, piece), split, ids.length);
    }
  }

  /** The first 16 bytes of the SHA-256 of a document's UTF-8 text, as two longs (exact de-duplication key). */
  public static long[] contentHash(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      long a = 0;
      long b = 0;
      for (int i = 0; i < 8; i++) {
        a = (a << 8) | (d[i] & 0xff);
        b = (b << 8) | (d[8 + i] & 0xff);
      }
      return new long[] {a, b};
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The split of a document, from its content hash salted with {@code seed}: the same text lands in the same split
   * whatever the cluster size, the input order or a re-run.
   */
  public static int splitOf(long hash, long seed, double valFraction) {
    long z = hash ^ (seed * 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L; // splitmix64 finaliser
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    double u = (z >>> 11) * 0x1.0p-53;
    return u < valFraction ? BlockPacker.VAL : BlockPacker.TRAIN;
  }

  /** Cuts a document into pieces of about {@code chunkChars} characters. */
  public static List<Piece> cut(long docId, String text, int split, int chunkChars) {
    List<String> parts = text.length() <= chunkChars ? List.of(text) : TextSplitter.split(text, chunkChars);
    List<Piece> pieces = new ArrayList<>(parts.size());
    for (int i = 0; i < parts.size(); i++) {
      pieces.add(new Piece(docId, i, i == parts.size() - 1, split, parts.get(i)));
    }
    return pieces;
  }
}
