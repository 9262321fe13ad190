package dev.sparkgpt.tokenizer;

/** Text ↔ token ids for one vocabulary (GPT-2's or a trained one); obtained from {@link Tokenizers}; thread-safe. */
public interface Tokenizer {
  /** "gpt2" for the built-in vocabulary, else the name given when loading (a directory's name by default). */
  String name();

  /** Hex SHA-256 of the vocabulary's canonical form (ids, ranks, bytes, special): equal vocabularies hash alike. */
  String hash();

  /** Ids in all, the end-of-text id included (50257 for gpt2). */
  int vocabSize();

  /** The id of {@code <|endoftext|>} (50256 for gpt2). */
  int eotId();

  /** Encodes ordinary text: a {@code <|endoftext|>} in it is plain text (tiktoken's encode_ordinary). */
  int[] encode(String text);

  /**
   * Encodes text that continues an already encoded text, cut where {@link TextSplitter#isSafeCut} allows: the ids of
   * the pieces then concatenate to those of the whole. Only SentencePiece differs from {@link #encode}: the text's
   * start alone gets its dummy prefix.
   */
  default int[] encodeContinuation(String text) {
    return encode(text);
  }

  /** Encodes text in which each {@code <|endoftext|>} becomes {@link #eotId()} (tiktoken's allowed_special="all"). */
  int[] encodeWithSpecial(String text);

  /** The text of {@code ids}; bad UTF-8 becomes U+FFFD (tiktoken's errors="replace"); bad ids throw IAE. */
  String decode(int[] ids);

  /** The raw bytes of {@code ids}, concatenated; an id outside 0..vocabSize-1 throws IllegalArgumentException. */
  byte[] decodeBytes(int[] ids);
}
