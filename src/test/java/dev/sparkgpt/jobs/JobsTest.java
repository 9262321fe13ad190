package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class JobsTest {
  @Command(name = "oom")
  static final class OffHeap implements Callable<Integer> {
    @Override
    public Integer call() {
      // what JavaCPP throws when an ND4J array exceeds -Dorg.bytedeco.javacpp.maxbytes
      throw new RuntimeException("step failed", new OutOfMemoryError("Cannot allocate new FloatPointer(1000000000): "
          + "totalBytes = 7G, physicalBytes = 9G\nat org.bytedeco.javacpp.Pointer.deallocator"));
    }
  }

  @Test
  void offHeapExhaustionBecomesAdviceOnTheMemorySettings() {
    StringWriter err = new StringWriter();
    CommandLine cli = Jobs.commandLine(new OffHeap());
    cli.setErr(new PrintWriter(err, true));
    assertEquals(3, cli.execute());
    String text = err.toString();
    assertTrue(text.startsWith("error: ND4J ran out of off-heap memory (Cannot allocate new FloatPointer"), text);
    assertTrue(text.contains("SPARKGPT_OFFHEAP") && text.contains("spark.executor.memoryOverhead"), text);
    assertEquals(1, text.lines().count(), "one line, no stack trace");
  }
}
