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

  /** The id a prompt starts with (Llama-2's {@code <s>}), or -1: GPT-2-style vocabularies have none. */
  default int bosId() {
    return -1;
  }

  /**
   * A prompt as generate, chat and serve hand it to the model: {@link #bosId()} first where the vocabulary has one
   * (as Hugging Face's LlamaTokenizer and vLLM do), then {@link #encode}. Eval and training data do not get it
   * (lm-eval scores without it by default; shards are the text's own ids).
   */
  default int[] encodePrompt(String text) {
    int[] ids = encode(text);
    int bos = bosId();
    if (bos < 0) {
      return ids;
    }
    int[] out = new int[ids.length + 1];
    out[0] = bos;
    System.arraycopy(ids, 0, out, 1, ids.length);
    return out;
  }

  /** Encodes text in which each {@code <|endoftext|>} becomes {@link #eotId()} (tiktoken's allowed_special="all"). */
  int[] encodeWithSpecial(String text);

  /** The text of {@code ids}; bad UTF-8 becomes U+FFFD (tiktoken's errors="replace"); bad ids throw IAE. */
  String decode(int[] ids);

  /** The raw bytes of {@code ids}, concatenated; an id outside 0..vocabSize-1 throws IllegalArgumentException. */
  byte[] decodeBytes(int[] ids);
}
