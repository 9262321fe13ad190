package dev.sparkgpt.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.StringReader;
import org.junit.jupiter.api.Test;

/** Plain text read as one streamed document: newline normalisation, also where \r\n straddles a read buffer. */
class TextStreamTest {
  private static String read(String text, boolean normalize) throws Exception {
    StringBuilder got = new StringBuilder();
    int[] ends = new int[1];
    SplitReader.Sink sink = new SplitReader.Sink() {
      @Override
      public void begin(long key, int ordinal, boolean continues) {}

      @Override
      public void text(String piece) {
        got.append(piece);
      }

      @Override
      public void end(boolean complete) {
        ends[0]++;
      }
    };
    SplitReader.Options options = new SplitReader.Options("text", null, normalize, 4096, 10_000_000);
    TextStream.single(new StringReader(text), options, 0, false, false, sink);
    assertEquals(1, ends[0]);
    return got.toString();
  }

  @Test
  void newlinesAreNormalisedAcrossReadBuffers() throws Exception {
    StringBuilder text = new StringBuilder();
    while (text.length() < (1 << 16) - 1) {
      text.append("a line of text\n");
    }
    text.setLength((1 << 16) - 1);
    text.append("\r\nafter the buffer edge\rold mac\r\n\r\nend\n"); // \r is the buffer's last char, \n the next's first
    for (int i = 0; i < 5000; i++) {
      text.append("more text ").append(i).append(i % 7 == 0 ? "\r\n" : " ");
    }
    String expected = text.toString().replace("\r\n", "\n").replace('\r', '\n');
    assertEquals(expected, read(text.toString(), true));
    assertEquals(text.toString(), read(text.toString(), false));
  }
}
