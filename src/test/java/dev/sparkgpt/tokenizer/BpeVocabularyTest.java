package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.InputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GPT-2-format files: exact round trip of GPT-2's own pair, every consistency check on load, non-GPT-2 id layouts. */
class BpeVocabularyTest {
  private static final byte[] GPT2_ENCODER = ReferenceBpe.resource("/data/tokenizer/encoder.json");
  private static final byte[] GPT2_MERGES = ReferenceBpe.resource("/data/tokenizer/vocab.bpe");
  /** A small valid vocabulary: 256 byte tokens, "ab" (256), "abc" (257), <|endoftext|> (258). */
  private static final String MERGES = "#version: 0.2\na b\nab c\n";

  /** encoder.json text: the 256 byte tokens with GPT-2's ids (= their chars in increasing order), then extras. */
  private static String encoder(String... extras) {
    char[] alphabet = ReferenceBpe.bytesToUnicode().clone();
    java.util.Arrays.sort(alphabet);
    List<String> entries = new ArrayList<>();
    for (int id = 0; id < 256; id++) {
      char c = alphabet[id];
      entries.add("\"" + (c == '"' || c == '\\' ? "\\" + c : String.valueOf(c)) + "\": " + id);
    }
    entries.addAll(List.of(extras));
    return "{" + String.join(", ", entries) + "}";
  }

  private static String validEncoder() {
    return encoder("\"ab\": 256", "\"abc\": 257", "\"<|endoftext|>\": 258");
  }

  private static InputException loadFails(String encoderJson, String merges, String... fragments) {
    var e = assertThrows(InputException.class, () -> BpeVocabulary.parse("vocab-dir",
        encoderJson.getBytes(StandardCharsets.UTF_8), merges.getBytes(StandardCharsets.UTF_8)));
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), () -> "expected \"" + fragment + "\" in: " + e.getMessage());
    }
    assertTrue(e.getMessage().contains("Fix: "), e.getMessage());
    return e;
  }

  @Test
  void readsGpt2sFilesAndWritesThemBackByteForByte() {
    BpeVocabulary gpt2 = BpeVocabulary.parse("gpt2", GPT2_ENCODER, GPT2_MERGES);
    assertEquals(50257, gpt2.size());
    assertEquals(50000, gpt2.mergeCount());
    assertEquals(50256, gpt2.eotId());
    assertTrue(gpt2.idsAreRanks());
    assertArrayEquals(new int[] {220, 83, 256}, gpt2.merge(0)); // "Ġ t": " " + "t" → " t"
    assertArrayEquals(" t".getBytes(StandardCharsets.UTF_8), gpt2.tokenBytes(256));
    assertArrayEquals(GPT2_ENCODER, gpt2.encoderJson());
    assertArrayEquals(GPT2_MERGES, gpt2.vocabBpe());
    assertEquals(Tokenizers.gpt2().hash(), gpt2.hash());
  }

  @Test
  void readsASmallValidVocabulary(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("encoder.json"), validEncoder());
    Files.writeString(dir.resolve("vocab.bpe"), MERGES);
    BpeVocabulary vocab = BpeVocabulary.read(dir);
    assertEquals(259, vocab.size());
    assertEquals(258, vocab.eotId());
    assertArrayEquals(new int[] {256, 66, 257}, vocab.merge(1)); // "ab" + "c"
    Tokenizer tok = Tokenizers.fromVocabulary("small", vocab);
    // "abc" → 257; " abca" → " " (220), "abc" (257), "a" (64): no merge joins the space or the final a
    assertArrayEquals(new int[] {257, 220, 257, 64}, tok.encode("abc abca"));
    assertEquals("abc abca", tok.decode(tok.encode("abc abca")));
  }

  @Test
  void encodesWithMergeRanksWhenIdsDoNotFollowMergeOrder(@TempDir Path dir) throws Exception {
    // Same merges, but "abc" got the smaller id: ids cannot serve as ranks, the tokenizer must map ranks to ids.
    String permuted = encoder("\"ab\": 257", "\"abc\": 256", "\"<|endoftext|>\": 258");
    Files.writeString(dir.resolve("encoder.json"), permuted);
    Files.writeString(dir.resolve("vocab.bpe"), MERGES);
    BpeVocabulary vocab = BpeVocabulary.read(dir);
    assertFalse(vocab.idsAreRanks());
    Tokenizer tok = Tokenizers.load(dir.toString());
    String text = "abc abca ab cab";
    // "abc" | " " "abc" "a" | " " "ab" | " " "c" "ab", with "abc" = 256 and "ab" = 257 now
    assertArrayEquals(new int[] {256, 220, 256, 64, 220, 257, 220, 66, 257}, tok.encode(text));
    ReferenceBpe reference = new ReferenceBpe(Files.readAllBytes(dir.resolve("encoder.json")), MERGES.getBytes());
    assertArrayEquals(reference.encode(text), tok.encode(text));
    assertEquals(text, tok.decode(tok.encode(text)));
    assertEquals(258, tok.encodeWithSpecial("<|endoftext|>")[0]);
    assertNotEquals(Tokenizers.fromBytes("x", validEncoder().getBytes(), MERGES.getBytes()).hash(), tok.hash());
  }

  @Test
  void rejectsEncoderWithoutEndOfText() {
    loadFails(encoder("\"ab\": 256", "\"abc\": 257"), MERGES, "vocab-dir/encoder.json", "no <|endoftext|> entry");
  }

  @Test
  void rejectsEncoderMissingByteTokens() {
    String withoutSpace = validEncoder().replace("\"\u0120\": 220, ", "").replace("\"ab\": 256", "\"ab\": 220")
        .replace("\"abc\": 257", "\"abc\": 256").replace("\"<|endoftext|>\": 258", "\"<|endoftext|>\": 257");
    loadFails(withoutSpace, MERGES, "vocab-dir/encoder.json", "single-byte tokens missing for bytes 0x20");
  }

  @Test
  void rejectsMalformedEncoderEntries() {
    loadFails("{\"a\": 1,", MERGES, "vocab-dir/encoder.json", "malformed JSON");
    loadFails("[1, 2]", MERGES, "vocab-dir/encoder.json", "expected a JSON object");
    loadFails(encoder("\"ab\": \"x\""), MERGES, "the id of token \"ab\" is x, not an int");
    loadFails(encoder("\"ab\": 256", "\"ab\": 257"), MERGES, "token \"ab\" appears twice");
    loadFails(encoder("\"ab\": 999", "\"abc\": 257", "\"<|endoftext|>\": 258"), MERGES,
        "token \"ab\" has id 999, outside 0..258");
    loadFails(encoder("\"ab\": 257", "\"abc\": 257", "\"<|endoftext|>\": 258"), MERGES, "both have id 257");
    loadFails(encoder("\"ab\": 256", "\"a\\u0000\": 257", "\"<|endoftext|>\": 258"), MERGES,
        "(id 257) is not written in GPT-2's byte alphabet");
  }

  @Test
  void rejectsTokensThatNoMergeMakes() {
    loadFails(encoder("\"ab\": 256", "\"abc\": 257", "\"zz\": 258", "\"<|endoftext|>\": 259"), MERGES,
        "vocab-dir/encoder.json", "token \"zz\" (id 258) is neither a single byte nor the result of a merge");
  }

  @Test
  void rejectsMergesInconsistentWithTheEncoder() {
    String encoder = validEncoder();
    loadFails(encoder, "a b\nab c\n", "vocab-dir/vocab.bpe: line 1", "'#version: 0.2' header");
    loadFails(encoder, MERGES + "b c\n", "vocab.bpe: line 4", "makes \"bc\", which is not in encoder.json");
    loadFails(encoder, "#version: 0.2\nab c\na b\n", "vocab.bpe: line 2",
        "uses \"ab\", which is neither a byte token nor made by an earlier merge");
    loadFails(encoder, "#version: 0.2\nzz b\n", "line 2", "uses \"zz\", which is not in encoder.json");
    loadFails(encoder, MERGES + "a b\n", "line 4", "makes \"ab\" (id 256), which a byte token or an earlier merge");
    loadFails(encoder, "#version: 0.2\na b c\n", "line 2", "two tokens separated by one space");
    loadFails(encoder, "#version: 0.2\nx\n", "line 2", "two tokens separated by one space");
    loadFails(encoder, "#version: 0.2\na b\n", "token \"abc\" (id 257) is neither");
  }

  @Test
  void namesTheMissingFileOfADirectory(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("encoder.json"), validEncoder());
    var e = assertThrows(InputException.class, () -> BpeVocabulary.read(dir));
    assertTrue(e.getMessage().contains(dir.resolve("vocab.bpe").toString()) && e.getMessage().contains("not found"),
        e.getMessage());
  }

  @Test
  void toleratesCrlfAndBlankLinesInMerges() {
    BpeVocabulary vocab = BpeVocabulary.parse("crlf", validEncoder().getBytes(StandardCharsets.UTF_8),
        "#version: 0.2\r\na b\r\n\r\nab c\r\n".getBytes(StandardCharsets.UTF_8));
    assertEquals(2, vocab.mergeCount());
    assertArrayEquals(MERGES.getBytes(StandardCharsets.UTF_8), vocab.vocabBpe());
  }
}
