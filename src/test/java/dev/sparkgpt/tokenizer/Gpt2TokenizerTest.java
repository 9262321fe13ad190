package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The built-in GPT-2 tokenizer against tiktoken's ids (fixtures), pinned ids and an independent reference BPE. */
class Gpt2TokenizerTest {
  private static final Tokenizer GPT2 = Tokenizers.gpt2();
  private static final ReferenceBpe REFERENCE = ReferenceBpe.gpt2();

  private static int[] ids(JsonNode array) {
    return IntStream.range(0, array.size()).map(i -> array.get(i).asInt()).toArray();
  }

  @Test
  void describesItself() {
    assertEquals("gpt2", GPT2.name());
    assertEquals(50257, GPT2.vocabSize());
    assertEquals(50256, GPT2.eotId());
    // Pinned: manifests store this hash; a change here invalidates every tokenized dataset.
    assertEquals("6b0debf372b95f5c407e7b8df6ea683ff69d7485686c9cb31c4628cbd0e1e7c6", GPT2.hash());
    assertEquals(GPT2.hash(), Tokenizers.load("gpt2").hash());
  }

  @Test
  void matchesEveryTiktokenFixture() throws Exception {
    JsonNode fixtures = new ObjectMapper().readTree(ReferenceBpe.resource("/tokenizer/gpt2_token_fixtures.json"));
    int checked = 0;
    for (JsonNode sample : fixtures.get("samples")) {
      String name = sample.get("name").asText();
      if (sample.get("text").isNull()) { // the-verdict.txt, given by its length and both ends
        int[] all = GPT2.encode(ReferenceBpe.text("/data/corpora/the-verdict.txt"));
        assertEquals(sample.get("count").asInt(), all.length, name);
        assertArrayEquals(ids(sample.get("first20")), Arrays.copyOfRange(all, 0, 20), name);
        assertArrayEquals(ids(sample.get("last20")), Arrays.copyOfRange(all, all.length - 20, all.length), name);
      } else {
        String text = sample.get("text").asText();
        // The fixtures were made with allowed_special: a sample holding <|endoftext|> expects the special id.
        int[] actual = text.contains(BpeVocabulary.ENDOFTEXT) ? GPT2.encodeWithSpecial(text) : GPT2.encode(text);
        assertArrayEquals(ids(sample.get("ids")), actual, name);
        assertEquals(text, GPT2.decode(actual), name);
      }
      checked++;
    }
    assertEquals(9, checked);
  }

  @Test
  void encodeTreatsEndOfTextAsPlainTextAndEncodeWithSpecialAsTheEotId() {
    String text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.";
    int[] ordinary = GPT2.encode(text);
    // " <|" "endoftext" "|>" as plain pre-tokens: 1279 = " <|", 91 = "|", 437 = "end", 1659 = "of", 5239 = "text"
    assertArrayEquals(new int[] {15496, 11, 466, 345, 588, 8887, 30, 1279, 91, 437, 1659, 5239, 91, 29, 554, 262,
        4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13}, ordinary);
    assertArrayEquals(REFERENCE.encode(text), ordinary);
    assertEquals(text, GPT2.decode(ordinary));
    assertEquals(text, GPT2.decode(GPT2.encodeWithSpecial(text)));
  }

  @Test
  void encodeWithSpecialHandlesEotAtTheEdgesAndBackToBack() {
    int eot = 50256;
    assertArrayEquals(new int[] {eot}, GPT2.encodeWithSpecial("<|endoftext|>"));
    assertArrayEquals(new int[] {eot, eot}, GPT2.encodeWithSpecial("<|endoftext|><|endoftext|>"));
    assertArrayEquals(new int[] {15496, eot, 995, eot},
        GPT2.encodeWithSpecial("Hello<|endoftext|> world<|endoftext|>"));
    // Only the exact string is special; a near miss stays text: "<", "|", "end", "of", "text", ">"
    assertArrayEquals(new int[] {27, 91, 437, 1659, 5239, 29}, GPT2.encodeWithSpecial("<|endoftext>"));
    assertArrayEquals(GPT2.encode("no special here"), GPT2.encodeWithSpecial("no special here"));
  }

  @Test
  void pinsIdsOfHardCases() {
    assertArrayEquals(new int[] {64, 220, 275, 220, 220, 269, 220, 220, 220, 288, 628, 198, 304},
        GPT2.encode("a  b   c    d\n\n\n e"));
    assertArrayEquals(new int[] {1370, 530, 201, 198, 1370, 734, 201, 198}, GPT2.encode("line one\r\nline two\r\n"));
    assertArrayEquals(new int[] {197, 4033, 16, 197, 4033, 17, 197, 197}, GPT2.encode("\tcol1\tcol2\t\t"));
    assertArrayEquals(new int[] {10163, 2231, 3134, 4531, 486, 1954, 290, 27551},
        GPT2.encode("1234567890123 and 00000000"));
    assertArrayEquals(new int[] {220, 220, 3756, 9029}, GPT2.encode("   leading spaces"));
    assertArrayEquals(new int[] {9535, 4386, 9029, 220, 220, 220}, GPT2.encode("trailing spaces   "));
    assertArrayEquals(new int[] {270, 338, 11, 673, 1183, 11, 356, 1053, 11, 314, 1549, 11, 705, 48010, 6},
        GPT2.encode("it's, she'll, we've, I'd, 'tis'"));
    // NBSP, ideographic space, line separator and NEL are \s to the regex (Unicode White_Space)
    assertArrayEquals(new int[] {87, 1849, 88, 5099, 222, 89, 447, 101, 86, 126, 227, 85},
        GPT2.encode("x\u00a0y\u3000z\u2028w\u0085v"));
    assertArrayEquals(new int[] {47991, 250, 166, 113, 255, 168, 244, 112, 220, 169, 227, 235, 168, 232, 97, 169, 232,
        116, 168, 252, 227, 46695, 230, 46695, 97}, GPT2.encode("한국어 텍스트입니다"));
    assertArrayEquals(new int[] {33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302, 23513, 40792, 23877,
        229, 23877, 229, 17312, 105, 16764}, GPT2.encode("日本語のテキスト、中文文本。"));
    assertArrayEquals(new int[0], GPT2.encode(""));
  }

  @ParameterizedTest
  @ValueSource(strings = {"a  b   c    d\n\n\n e", "line one\r\nline two\r\n", "\r\n\r\n\r\n", "\tcol1\tcol2\t\t",
      " \t \n \r\n  x", "👩🏽‍💻✨🚀 emoji! 🇫🇷🇯🇵", "日本語のテキスト、中文文本。", "한국어 텍스트입니다", "1234567890123 and 00000000",
      "3.14159e-10 ٣٤٥ ½ Ⅻ", "   leading spaces", "trailing spaces   ", "it's IT'S it’s 'll''ve", "naïve café e\u0301",
      "x\u00a0y\u3000z\u2028w\u0085v\u2029", "A\u200dB\ufeffC", "<|endoftext|> <|endoftext", "\u0000\u0001\u007f",
      "Lorem ipsum dolor sit amet,\n\n    consectetur    adipiscing elit.\n"})
  void agreesWithReferenceBpeAndRoundTrips(String text) {
    int[] ids = GPT2.encode(text);
    assertArrayEquals(REFERENCE.encode(text), ids);
    assertEquals(text, GPT2.decode(ids));
    assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), GPT2.decodeBytes(ids));
  }

  @Test
  void agreesWithReferenceBpeOnTheBundledCorpora() {
    for (String corpus : new String[] {"/data/corpora/the-verdict.txt", "/data/corpora/tinyshakespeare.txt"}) {
      String text = ReferenceBpe.text(corpus);
      int[] ids = GPT2.encode(text);
      assertArrayEquals(REFERENCE.encode(text), ids, corpus);
      assertEquals(text, GPT2.decode(ids), corpus);
    }
  }

  @Test
  void decodesALoneByteOfAMultiByteCharAsReplacementChar() {
    // "é" (C3 A9) is token 2634; its byte tokens in GPT-2's order are 0xC3 → id 127 and 0xA9 → id 102
    assertArrayEquals(new int[] {2634}, GPT2.encode("é"));
    assertEquals("é", GPT2.decode(new int[] {127, 102}));
    assertEquals("\uFFFD", GPT2.decode(new int[] {127}));
    assertEquals("\uFFFD", GPT2.decode(new int[] {102}));
    assertEquals("a\uFFFDb", GPT2.decode(new int[] {64, 127, 65}));
    assertArrayEquals(new byte[] {(byte) 0xC3}, GPT2.decodeBytes(new int[] {127}));
    // The emoji 🚀 (F0 9F 9A 80) is 8582 = F0 9F, then 248 = 9A, 222 = 80; cut after 2 of its 3 tokens
    assertArrayEquals(new int[] {8582, 248, 222}, GPT2.encode("🚀"));
    assertEquals("\uFFFD", GPT2.decode(new int[] {8582, 248}));
    assertEquals("\uFFFD\uFFFD", GPT2.decode(new int[] {248, 222}));
    assertEquals("<|endoftext|>", GPT2.decode(new int[] {50256}));
  }

  @Test
  void rejectsIdsOutOfRangeNamingTheIdAndTheVocabularySize() {
    var high = assertThrows(IllegalArgumentException.class, () -> GPT2.decode(new int[] {15496, 50257}));
    assertTrue(high.getMessage().contains("50257") && high.getMessage().contains("50257 ids")
        && high.getMessage().contains("position 1"), high.getMessage());
    var negative = assertThrows(IllegalArgumentException.class, () -> GPT2.decodeBytes(new int[] {-1}));
    assertTrue(negative.getMessage().contains("token id -1") && negative.getMessage().contains("'gpt2'"),
        negative.getMessage());
  }
}
