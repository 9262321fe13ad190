package dev.sparkgpt.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds raw safetensors bytes by hand (no writer involved) and locates the bundled fixtures. */
final class TestFiles {
  private TestFiles() {}

  /** A file holding the little-endian {@code prefix} followed by {@code rest}. */
  static Path raw(Path dir, String name, long prefix, byte[] rest) {
    ByteBuffer bytes = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.putLong(prefix).put(rest);
    try {
      return Files.write(dir.resolve(name), bytes.array());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A well-framed file: correct length prefix, {@code headerJson}, then {@code dataBytes} bytes counting 0, 1, 2... */
  static Path withHeader(Path dir, String name, String headerJson, int dataBytes) {
    byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
    byte[] rest = new byte[header.length + dataBytes];
    System.arraycopy(header, 0, rest, 0, header.length);
    for (int i = 0; i < dataBytes; i++) {
      rest[header.length + i] = (byte) i;
    }
    return raw(dir, name, header.length, rest);
  }

  /** A bundled fixture under src/test/resources/fixtures, e.g. {@code gpt2-hf-tiny/model.safetensors}. */
  static Path fixture(String relative) {
    URL url = TestFiles.class.getResource("/fixtures/" + relative);
    if (url == null) {
      throw new IllegalStateException("missing test resource fixtures/" + relative);
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
