package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** cl100k_base and o200k_base by name: ids equal to js-tiktoken's (tiktoken-ids.json), sizes, specials, export. */
class BundledEncodingsTest {
  private static final JsonNode EXPECTED =
      HfTokenizerJsonTest.json(ReferenceBpe.resource("/tokenizer/hf/tiktoken-ids.json")).path("ids");

  private static void assertMatchesTiktoken(String name, int size, int eot) {
    Tokenizer tok = Tokenizers.load(name);
    assertSame(tok, Tokenizers.load(name));
    assertEquals(size, tok.vocabSize());
    assertEquals(eot, tok.eotId());
    List<String> texts = HfTokenizerJsonTest.TEXTS;
    for (int i = 0; i < texts.size(); i++) {
      JsonNode ids = EXPECTED.path(name).get(i);
      int[] want = new int[ids.size()];
      for (int j = 0; j < want.length; j++) {
        want[j] = ids.get(j).asInt();
      }
      assertArrayEquals(want, tok.encodeWithSpecial(texts.get(i)), name + " text " + i);
      assertEquals(texts.get(i), tok.decode(want), name + " text " + i);
    }
    assertThrows(IllegalArgumentException.class, () -> tok.decodeBytes(new int[] {eot - 1 == size ? 0 : size}));
  }

  @Test
  void cl100kEncodesAsTiktoken() {
    assertMatchesTiktoken("cl100k_base", 100277, 100257);
    // 100256 lies between the ordinary tokens and the specials: unused, so not decodable.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Tokenizers.load("cl100k_base").decodeBytes(new int[] {100256}));
    assertEquals("token id 100256 (position 0) is out of range: vocabulary 'cl100k_base' has 100277 ids, 0..100276,"
        + " and 100256 is unused", e.getMessage());
  }

  @Test
  void o200kEncodesAsTiktoken() {
    assertMatchesTiktoken("o200k_base", 200019, 199999);
  }

  @Test
  void hashesDifferAndExportReadsBack() {
    Tokenizer cl = Tokenizers.load("cl100k_base");
    assertNotEquals(Tokenizers.gpt2().hash(), cl.hash());
    assertNotEquals(Tokenizers.load("o200k_base").hash(), cl.hash());
    Tokenizer back = Tokenizers.fromHfTokenizerJson("cl100k-hf", Tokenizers.toHfTokenizerJson(cl), null);
    assertEquals(cl.hash(), back.hash());
    String text = ReferenceBpe.text("/data/corpora/the-verdict.txt");
    assertArrayEquals(cl.encode(text), back.encode(text));
  }
}
