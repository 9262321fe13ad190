package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Replacement of ill-formed UTF-8 exactly as Python (hence tiktoken) does it. */
class Utf8Test {
  private static String decode(String hex) {
    return Utf8.decode(HexFormat.of().parseHex(hex));
  }

  @Test
  void replacesEachMaximalSubpartWithOneReplacementChar() {
    assertEquals("\uFFFD", decode("c3"));               // truncated 2-byte sequence
    assertEquals("\uFFFD", decode("e282"));             // truncated 3-byte sequence: one subpart
    assertEquals("\uFFFD\uFFFD", decode("f08f"));       // F0 needs 90..BF next: F0 alone, then 8F alone
    assertEquals("\uFFFD\uFFFD", decode("c0af"));       // C0 never starts a sequence (overlong)
    assertEquals("\uFFFDA", decode("e241"));            // the breaking byte is decoded on its own
    assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", decode("f5808080")); // above U+10FFFF: four bytes, four chars
    assertEquals("€😀", decode("e282acf09f9880"));
    assertEquals("\uFFFD", decode("efbfbd"));          // an encoded U+FFFD is kept as is
  }

  @Test
  void replacesEncodedSurrogatesBytePerByteUnlikeJava() {
    byte[] surrogate = HexFormat.of().parseHex("eda080"); // D800 encoded in 3 bytes: ill-formed
    assertEquals("\uFFFD\uFFFD\uFFFD", Utf8.decode(surrogate));
    // Java's own decoder gives one U+FFFD here: the reason for Utf8 (JTokkit's decode uses it).
    assertNotEquals(Utf8.decode(surrogate), new String(surrogate, StandardCharsets.UTF_8));
  }

  @Test
  void agreesWithPythonOnGeneratedCases() {
    String[] lines = ReferenceBpe.text("/tokenizer/utf8_replace_cases.txt").split("\n");
    int checked = 0;
    for (String line : lines) {
      if (line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\t", -1);
      String expected = new String(HexFormat.of().parseHex(parts[1]), StandardCharsets.UTF_16BE);
      assertEquals(expected, decode(parts[0]), "bytes " + parts[0]);
      checked++;
    }
    assertEquals(1500, checked);
  }
}
