package dev.sparkgpt.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * What a byte-level BPE tokenizer is, whichever file it came from (GPT-2's pair, a Hugging Face tokenizer.json, a
 * tiktoken encoding): the pre-tokenizer regex, token bytes and BPE ranks by id, the added tokens, the end-of-text id.
 *
 * @param pattern the pre-tokenizer regex (Java syntax, compiled with UNICODE_CHARACTER_CLASS)
 * @param nfc whether text is NFC-normalised before encoding (a tokenizer.json "NFC" normalizer)
 * @param tokens bytes by id: the token's bytes, an added token's UTF-8, null for an unused id
 * @param ranks BPE rank by id (smaller merges first); -1 for added tokens and unused ids
 * @param special added tokens that only {@link Tokenizer#encodeWithSpecial} turns into ids (content → id)
 * @param added added tokens that every encode turns into ids, as Hugging Face does for non-special ones
 * @param eotId the end-of-text id (a special token)
 * @param bosId the id a prompt starts with (a tokenizer.json post-processor's leading special token), or -1;
 *     not part of the vocabulary hash (tokenize and eval never add it)
 */
record BpeDefinition(String pattern, boolean nfc, byte[][] tokens, int[] ranks, Map<String, Integer> special,
    Map<String, Integer> added, int eotId, int bosId) {

  /** Without a beginning-of-text token (GPT-2, trained vocabularies, a tokenizer.json that adds none). */
  BpeDefinition(String pattern, boolean nfc, byte[][] tokens, int[] ranks, Map<String, Integer> special,
      Map<String, Integer> added, int eotId) {
    this(pattern, nfc, tokens, ranks, special, added, eotId, -1);
  }

  /** True for GPT-2's own shape: GPT-2's regex, no normaliser, {@code <|endoftext|>} the only added token. */
  boolean isGpt2Shape() {
    return pattern.equals(PreTokenizer.PATTERN.pattern()) && !nfc && added.isEmpty() && special.size() == 1
        && Integer.valueOf(eotId).equals(special.get(BpeVocabulary.ENDOFTEXT));
  }

  /**
   * The vocabulary hash. GPT-2-shaped definitions hash as {@link BpeVocabulary#canonicalHash} does (so the built-in
   * gpt2, GPT-2's files and GPT-2's tokenizer.json hash alike); any other over "sparkgpt-bpe-v2", the regex, the
   * normaliser and the end-of-text id, then per id a tag ('T' token, 'S' special, 'A' added, 'U' unused), the id,
   * the rank, the byte length and the bytes.
   */
  String hash() {
    if (isGpt2Shape()) {
      return BpeVocabulary.canonicalHash(tokens, ranks, eotId);
    }
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update("sparkgpt-bpe-v2".getBytes(StandardCharsets.US_ASCII));
      byte[] regex = pattern.getBytes(StandardCharsets.UTF_8);
      sha.update(ByteBuffer.allocate(9).putInt(regex.length).put((byte) (nfc ? 1 : 0)).putInt(eotId).array());
      sha.update(regex);
      ByteBuffer header = ByteBuffer.allocate(13);
      for (int id = 0; id < tokens.length; id++) {
        byte[] bytes = tokens[id] == null ? new byte[0] : tokens[id];
        byte tag = tokens[id] == null ? (byte) 'U' : ranks[id] >= 0 ? (byte) 'T'
            : added.containsValue(id) ? (byte) 'A' : (byte) 'S';
        header.clear();
        header.put(tag).putInt(id).putInt(ranks[id]).putInt(bytes.length);
        sha.update(header.array());
        sha.update(bytes);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
