package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress off a terminal (plain lines or nothing, never a carriage return) and on one (a bar redrawn in place). */
class ProgressTest {
  private static final class Captured {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    String text() {
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  private static Progress.Spec spec(AtomicLong done, boolean quiet) {
    return new Progress.Spec("unit-test", () -> 10, "items", 1, done::get, () -> " loss 1.5", quiet);
  }

  /** Steps the counter to 10 over about 0.6 s, then closes the bar. */
  private static void countToTen(Progress bar, AtomicLong done) throws InterruptedException {
    for (int i = 1; i <= 10; i++) {
      Thread.sleep(60);
      done.set(i);
    }
    Thread.sleep(600); // one more poll sees 10
    bar.close();
  }

  @Test
  void offATerminalAJobWithoutItsOwnLinesGetsPlainProgressLines() throws Exception {
    Captured err = new Captured();
    AtomicLong done = new AtomicLong();
    countToTen(Progress.start(spec(done, false), false, err.stream, 150), done);
    String out = err.text();
    assertFalse(out.contains("\r") || out.contains("\033"), "no carriage return or escape code: " + out);
    List<String> lines = out.lines().toList();
    assertTrue(lines.size() >= 3, "a line every 150 ms and a final one: " + out);
    for (String line : lines) {
      assertTrue(line.startsWith("unit-test ") && line.contains("/10 items"), line);
    }
    String last = lines.get(lines.size() - 1);
    assertTrue(last.contains("100%") && last.contains("10/10 items") && last.contains("items/s")
        && last.endsWith("loss 1.5"), last);
    assertEquals(lines.size(), lines.stream().distinct().count(), "a line is not repeated: " + out);
  }

  @Test
  void offATerminalAJobThatLogsItselfPrintsNothingMore() throws Exception {
    Captured err = new Captured();
    AtomicLong done = new AtomicLong();
    Progress bar = Progress.start(spec(done, true), false, err.stream, 150);
    countToTen(bar, done);
    bar.finish(10, "done");
    assertEquals("", err.text());
  }

  @Test
  void onATerminalTheBarRedrawsInPlaceAndConsoleLinesGoAboveIt() throws Exception {
    Captured err = new Captured();
    Captured out = new Captured();
    AtomicLong done = new AtomicLong(4);
    Progress bar = Progress.start(spec(done, true), true, err.stream, 150);
    for (int i = 0; i < 50 && !err.text().contains("unit-test"); i++) {
      Thread.sleep(50);
    }
    assertTrue(err.text().startsWith("\r\033[Kunit-test "), "the bar erases its line and redraws: " + err.text());
    PrintStream console = new Progress.AboveBar(out.stream, err.stream);
    console.println("step 4/10 | loss 1.5");
    String erased = err.text(); // a redraw always has text after its erase; the log line's erase has none
    assertTrue(erased.endsWith("\r\033[K") || erased.contains("\r\033[K\r\033[K"), erased);
    assertEquals("step 4/10 | loss 1.5\n", out.text());
    done.set(10);
    Thread.sleep(600);
    bar.close();
    String all = err.text();
    assertTrue(all.endsWith("\n") && all.substring(0, all.length() - 1).endsWith("loss 1.5"), all);
    assertTrue(all.substring(all.lastIndexOf("\r\033[K")).contains("10/10"), "the final bar: " + all);
  }
}
