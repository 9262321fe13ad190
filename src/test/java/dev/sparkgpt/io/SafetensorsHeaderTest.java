package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed safetensors files: each fails at open with one exception naming the file and the tensor or field. */
class SafetensorsHeaderTest {
  private static final String FILE = "model.safetensors";
  private static final String WEIGHT = "h.0.attn.c_attn.weight";

  @TempDir
  Path dir;

  private SafetensorsFormatException openFails(Path file) {
    return assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file).close());
  }

  private static void assertMentions(Exception e, String... fragments) {
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), () -> "expected \"" + fragment + "\" in: " + e.getMessage());
    }
  }

  private Path withEntry(String entryJson, int dataBytes) {
    return TestFiles.withHeader(dir, FILE, "{\"" + WEIGHT + "\":" + entryJson + "}", dataBytes);
  }

  @Test
  void rejectsFileShorterThanTheLengthPrefix() throws Exception {
    Path file = Files.write(dir.resolve(FILE), new byte[] {16, 0, 0, 0, 0});
    assertMentions(openFails(file), FILE, "file is 5 bytes", "8-byte header length prefix");
  }

  @Test
  void rejectsHeaderCutShort() {
    byte[] partial = "{\"a\":{\"dtype\":\"F32\"".getBytes(StandardCharsets.UTF_8);
    Path file = TestFiles.raw(dir, FILE, 200, partial);
    assertMentions(openFails(file), FILE, "prefix is 200 bytes", "only " + partial.length + " bytes follow",
        "truncated");
  }

  @Test
  void rejectsDataCutShort() {
    Path file = withEntry("{\"dtype\":\"F32\",\"shape\":[64,192],\"data_offsets\":[0,49152]}", 1000);
    assertMentions(openFails(file), FILE, "\"" + WEIGHT + "\"", "[0, 49152]", "data buffer of 1000 bytes");
  }

  @Test
  void rejectsHugeDeclaredHeaderLengthWithoutReadingIt() {
    Path file = TestFiles.raw(dir, FILE, 1L << 62, "{}".getBytes(StandardCharsets.UTF_8));
    var e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> openFails(file));
    assertMentions(e, FILE, "4611686018427387904 bytes", "at most 100000000");
  }

  @Test
  void readsTheLengthPrefixAsUnsigned() {
    Path file = TestFiles.raw(dir, FILE, -1L, "{}".getBytes(StandardCharsets.UTF_8));
    assertMentions(openFails(file), FILE, "18446744073709551615 bytes");
  }

  @Test
  void rejectsHeaderLengthLargerThanTheFile() {
    Path file = TestFiles.raw(dir, FILE, 5000, "{}".getBytes(StandardCharsets.UTF_8));
    assertMentions(openFails(file), FILE, "prefix is 5000 bytes", "only 2 bytes follow", "file size 10");
  }

  @Test
  void rejectsHeaderLengthBelowTwo() {
    Path file = TestFiles.raw(dir, FILE, 1, "{}".getBytes(StandardCharsets.UTF_8));
    assertMentions(openFails(file), FILE, "prefix is 1 bytes", "at least 2");
  }

  @Test
  void rejectsInvalidJson() {
    Path file = TestFiles.withHeader(dir, FILE, "{\"a\": {\"dtype\": F32}}", 0);
    assertMentions(openFails(file), FILE, "header is not valid JSON", "line 1, column");
  }

  @Test
  void rejectsJsonThatIsNotAnObject() {
    Path file = TestFiles.withHeader(dir, FILE, "[1, 2]", 0);
    assertMentions(openFails(file), FILE, "header is JSON array [1,2]", "expected an object");
  }

  @Test
  void rejectsTrailingGarbageAfterTheJsonObject() {
    Path file = TestFiles.withHeader(dir, FILE, "{} {}", 0);
    assertMentions(openFails(file), FILE, "not valid JSON");
  }

  @Test
  void rejectsHeaderThatIsNotUtf8() {
    byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
    Path file = TestFiles.raw(dir, FILE, header.length, header);
    assertMentions(openFails(file), FILE, "not valid UTF-8: byte 0xC3 at header offset 2");
  }

  @Test
  void rejectsUnknownDtype() {
    Path file = withEntry("{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}", 4);
    assertMentions(openFails(file), FILE, "\"" + WEIGHT + "\"", "unknown dtype \"F8_E4M3\"",
        Arrays.toString(SafetensorsDtype.values()));
  }

  @Test
  void rejectsShapeTimesDtypeSizeThatDiffersFromTheOffsetSpan() {
    Path file = withEntry("{\"dtype\":\"F32\",\"shape\":[64,192],\"data_offsets\":[0,1000]}", 1000);
    assertEquals(file + ": tensor \"" + WEIGHT + "\" declares shape [64, 192] F32 = 49152 bytes but data_offsets "
        + "[0, 1000] span 1000 bytes", openFails(file).getMessage());
  }

  @Test
  void rejectsOffsetsPastTheEndOfTheFile() {
    Path file = withEntry("{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[8,16]}", 12);
    assertMentions(openFails(file), FILE, "\"" + WEIGHT + "\"", "[8, 16] end past the data buffer of 12 bytes");
  }

  @Test
  void rejectsOverlappingTensors() {
    String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
    Path file = TestFiles.withHeader(dir, FILE, header, 20);
    assertMentions(openFails(file), FILE, "tensor \"b\" data_offsets [12, 20] overlap tensor \"a\"", "[0, 16]");
  }

  @Test
  void rejectsNegativeDimension() {
    Path file = withEntry("{\"dtype\":\"F32\",\"shape\":[-4, 2],\"data_offsets\":[0,0]}", 0);
    assertMentions(openFails(file), FILE, "\"" + WEIGHT + "\"", "shape [-4,2] holds -4 at index 0",
        "non-negative integer");
  }

  @Test
  void rejectsFractionalDimensionAndMalformedOffsets() {
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}", 10)),
        "\"" + WEIGHT + "\"", "shape [2.5] holds 2.5");
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}", 8)),
        "\"" + WEIGHT + "\"", "data_offsets is array [0,4,8], expected an array of 2 non-negative integers");
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}", 8)),
        "\"" + WEIGHT + "\"", "data_offsets [8, 4] begin after end");
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}",
        4)), "\"" + WEIGHT + "\"", "below 2^63");
  }

  @Test
  void rejectsMissingAndUnknownFields() {
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[1]}", 4)),
        FILE, "\"" + WEIGHT + "\" lacks \"data_offsets\"");
    assertMentions(openFails(withEntry("{\"dtype\":\"F32\",\"shape\":[1],\"data_offset\":[0,4]}", 4)),
        FILE, "\"" + WEIGHT + "\" has unknown field \"data_offset\"");
    assertMentions(openFails(withEntry("[1]", 0)), FILE, "\"" + WEIGHT + "\" is array [1]");
  }

  @Test
  void rejectsDuplicateTensorNames() {
    String entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
    Path file = TestFiles.withHeader(dir, FILE, "{\"a\":" + entry + ",\"a\":" + entry + "}", 1);
    assertMentions(openFails(file), FILE, "Duplicate field 'a'");
  }

  @Test
  void rejectsMetadataValuesThatAreNotStrings() {
    Path file = TestFiles.withHeader(dir, FILE, "{\"__metadata__\":{\"step\":5}}", 0);
    assertMentions(openFails(file), FILE, "\"__metadata__\" key \"step\" holds number 5, expected a string");
  }

  @Test
  void failsFastOnATensorDeclaringTwoToTheFortyElements() {
    long elements = 1L << 40;
    Path pastEnd = withEntry("{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":[0," + 4 * elements
        + "]}", 16);
    Path wrongSpan = TestFiles.withHeader(dir, "span.safetensors",
        "{\"big\":{\"dtype\":\"F32\",\"shape\":[1024,1024,1048576],\"data_offsets\":[0,4]}}", 4);
    Path overflow = TestFiles.withHeader(dir, "overflow.safetensors",
        "{\"big\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8);
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      assertMentions(openFails(pastEnd), FILE, "\"" + WEIGHT + "\"", "end past the data buffer of 16 bytes");
      assertMentions(openFails(wrongSpan), "span.safetensors", "\"big\" declares shape [1024, 1024, 1048576] F32 = "
          + 4 * elements + " bytes but data_offsets [0, 4] span 4 bytes");
      assertMentions(openFails(overflow), "overflow.safetensors", "\"big\"", "byte size exceeds 2^63");
    });
  }

  @Test
  void opensAFileWithGapsBetweenTensorsAndReadsTheRightBytes() {
    String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]},"
        + "\"b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[5,6]}}";
    try (SafetensorsFile file = SafetensorsFile.open(TestFiles.withHeader(dir, FILE, header, 8))) {
      assertEquals("[1, 2]", Arrays.toString(file.readInts("a")));
      assertEquals("[5]", Arrays.toString(file.readInts("b")));
      assertEquals(0, file.info("b").rank());
    }
  }

  @Test
  void reportsTheSameFailureThroughAHadoopFileUri() {
    Path file = withEntry("{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,4]}", 4);
    var hadoopPath = new org.apache.hadoop.fs.Path(file.toUri());
    var e = assertThrows(SafetensorsFormatException.class,
        () -> SafetensorsFile.open(hadoopPath, new Configuration()).close());
    assertMentions(e, "file:", FILE, "\"" + WEIGHT + "\" declares shape [3] BF16 = 6 bytes but data_offsets [0, 4] "
        + "span 4 bytes");
  }

  @Test
  void reportsAMissingFileAsAnInputException() {
    var e = assertThrows(InputException.class, () -> SafetensorsFile.open(dir.resolve("absent.safetensors")));
    assertMentions(e, "absent.safetensors", "no such file");
    var hadoop = assertThrows(InputException.class, () -> SafetensorsFile.open(
        new org.apache.hadoop.fs.Path(dir.resolve("absent.safetensors").toUri()), new Configuration()));
    assertMentions(hadoop, "absent.safetensors", "no such file");
  }
}
