package dev.sparkgpt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportDirectoryTest {
  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  private static Map<String, ReportDirectory.Content> failingOnSecondFile() {
    Map<String, ReportDirectory.Content> files = new LinkedHashMap<>();
    files.put("loss.png", () -> new byte[] {1, 2, 3});
    files.put("lr.png", () -> {
      throw new IllegalStateException("chart rendering failed");
    });
    files.put("report.html", () -> "<html>".getBytes(StandardCharsets.UTF_8));
    return files;
  }

  @Test
  void aFailureWhileWritingLeavesNoHalfReport(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("report");
    var e = assertThrows(OutputException.class, () -> ReportDirectory.write(out.toString(), failingOnSecondFile(),
        HadoopConf.create()));
    assertTrue(e.getMessage().startsWith(out + ": cannot write the report: chart rendering failed."),
        e.getMessage());
    assertEquals(List.of(), listing(tmp), "neither the report nor its temporary directory");
  }

  @Test
  void aFailureKeepsTheOldReportWhole(@TempDir Path tmp) throws IOException {
    Path out = Files.createDirectories(tmp.resolve("report"));
    Files.writeString(out.resolve("report.html"), "old page");
    Files.writeString(out.resolve("loss.png"), "old chart");
    assertThrows(OutputException.class, () -> ReportDirectory.write(out.toString(), failingOnSecondFile(),
        HadoopConf.create()));
    assertEquals(List.of("report"), listing(tmp));
    assertEquals(List.of("loss.png", "report.html"), listing(out));
    assertEquals("old page", Files.readString(out.resolve("report.html")));
    assertEquals("old chart", Files.readString(out.resolve("loss.png")));
  }

  @Test
  void aFileInTheWayIsRefused(@TempDir Path tmp) throws IOException {
    Path out = Files.writeString(tmp.resolve("report"), "a file");
    var e = assertThrows(OutputException.class, () -> ReportDirectory.write(out.toString(),
        Map.of("report.html", () -> new byte[0]), HadoopConf.create()));
    assertEquals(out + ": is a file. Fix: give --out a directory for report.html and the charts", e.getMessage());
    assertEquals("a file", Files.readString(out));
  }

  @Test
  void aNonEmptyDirectoryWithoutAPageIsRefused(@TempDir Path tmp) throws IOException {
    Path out = Files.createDirectories(tmp.resolve("charts"));
    Files.writeString(out.resolve("mine.png"), "someone's picture");
    var e = assertThrows(OutputException.class, () -> ReportDirectory.write(out.toString(),
        Map.of("report.html", () -> new byte[0]), HadoopConf.create()));
    assertTrue(e.getMessage().startsWith(out + ": exists without report.html"), e.getMessage());
    assertEquals(List.of("mine.png"), listing(out));
  }
}
