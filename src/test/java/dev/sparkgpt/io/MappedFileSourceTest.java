package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MappedFileSourceTest {
  @TempDir
  Path dir;

  private static byte[] bytesOf(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.remaining()];
    buffer.duplicate().get(bytes);
    return bytes;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 96, 100}) // empty, a whole number of 16-byte chunks, a partial last chunk
  void readsEveryRangeAcrossChunkBordersLikeTheFileContent(int size) throws IOException {
    byte[] content = new byte[size];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) (i * 7 + 3);
    }
    Path file = Files.write(dir.resolve("bytes.bin"), content);
    try (MappedFileSource source = MappedFileSource.open(file, 16)) {
      assertEquals(size, source.length());
      for (int start = 0; start <= size; start++) {
        for (int length = 0; start + length <= size; length++) {
          ByteBuffer read = source.read(start, length);
          assertEquals(0, read.position());
          assertEquals(length, read.limit());
          byte[] expected = java.util.Arrays.copyOfRange(content, start, start + length);
          assertArrayEquals(expected, bytesOf(read), "start " + start + " length " + length);
        }
      }
    }
  }

  @Test
  void refusesReadsOutsideTheFileAndAfterClose() throws IOException {
    Path file = Files.write(dir.resolve("ten.bin"), new byte[10]);
    MappedFileSource source = MappedFileSource.open(file, 4);
    assertThrows(EOFException.class, () -> source.read(8, 3));
    assertThrows(EOFException.class, () -> source.read(-1, 1));
    assertThrows(EOFException.class, () -> source.read(0, Integer.MAX_VALUE));
    source.close();
    assertThrows(IOException.class, () -> source.read(0, 1));
  }

  @Test
  void byteArraySourceServesTheSameFormatAsAFile() {
    byte[] header = "{\"x\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]}}".getBytes(
        java.nio.charset.StandardCharsets.UTF_8);
    ByteBuffer bytes = ByteBuffer.allocate(8 + header.length + 3).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bytes.putLong(header.length).put(header).put(new byte[] {-1, 0, 1});
    try (SafetensorsFile file = SafetensorsFile.open(ByteSource.ofBytes("in-memory", bytes.array()))) {
      assertEquals("in-memory", file.source());
      assertArrayEquals(new int[] {-1, 0, 1}, file.readInts("x"));
    }
  }
}
