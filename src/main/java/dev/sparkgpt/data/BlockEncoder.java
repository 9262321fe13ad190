package dev.sparkgpt.data;

import dev.sparkgpt.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Encodes the pieces a reader hands out straight into an {@link EncodedBlock}: one pass over the text, which
 * hashes each document once (SHA-256 of its UTF-8, for de-duplication and the document split), encodes it, and
 * drops it again when it ends up shorter than min_chars.
 */
final class BlockEncoder implements SplitReader.Sink {
  /** Salt for the hash of a document that spans splits (hashed over its first part only): never equal to a whole one. */
  static final long MULTI_SALT = 0x6a09e667f3bcc908L;

  private final Tokenizer tok;
  private final int minChars;
  private final boolean hash;
  private final long seed;
  private final double valFraction;
  private final boolean splitByDocuments;
  private final EncodedBlock block = new EncodedBlock();
  private final MessageDigest digest;
  private long key;
  private int ordinal;
  private boolean continues;
  private int docStart;
  private long docChars;

  BlockEncoder(Tokenizer tok, int fileIndex, int minChars, boolean hash, long seed, double valFraction,
      boolean splitByDocuments) {
    this.tok = tok;
    this.minChars = Math.max(1, minChars);
    this.hash = hash;
    this.seed = seed;
    this.valFraction = valFraction;
    this.splitByDocuments = splitByDocuments;
    block.fileIndex = fileIndex;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  EncodedBlock block() {
    block.trim();
    return block;
  }

  @Override
  public void begin(long docKey, int docOrdinal, boolean docContinues) {
    key = docKey;
    ordinal = docOrdinal;
    continues = docContinues;
    docStart = block.tokenCount();
    docChars = 0;
    digest.reset();
    if (docContinues) {
      block.firstContinues = true;
    } else {
      block.docsRead++;
    }
  }

  @Override
  public void text(String piece) {
    if (hash) {
      digest.update(piece.getBytes(StandardCharsets.UTF_8));
    }
    block.append(continues || docChars > 0 ? tok.encodeContinuation(piece) : tok.encode(piece));
    docChars += piece.length();
    block.chars += piece.length();
  }

  @Override
  public void end(boolean complete) {
    boolean multi = continues || !complete;
    if (!multi && docChars < minChars) {
      block.truncateTokens(docStart);
      block.droppedShort++;
      return;
    }
    if (complete) {
      block.append(tok.eotId());
    }
    long hi = 0;
    long lo = 0;
    if (hash) {
      byte[] d = digest.digest();
      for (int i = 0; i < 8; i++) {
        hi = (hi << 8) | (d[i] & 0xff);
        lo = (lo << 8) | (d[8 + i] & 0xff);
      }
    }
    byte split;
    if (multi) {
      split = EncodedBlock.MULTI;
      hi ^= MULTI_SALT;
    } else {
      split = (byte) (splitByDocuments ? Pieces.splitOf(hi, seed, valFraction) : BlockPacker.TRAIN);
    }
    block.addDoc(key, ordinal, split, hi, lo);
    if (!complete) {
      block.lastGoesOn = true;
    }
  }
}
