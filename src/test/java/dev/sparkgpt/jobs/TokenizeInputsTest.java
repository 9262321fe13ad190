package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Inputs users have: files without extension, broken UTF-8 and BOMs, compressed JSONL, nested fields, huge records. */
class TokenizeInputsTest extends SparkTestBase {
  private final Tokenizer gpt2 = Tokenizers.load("gpt2");

  private List<Integer> ids(String... texts) {
    List<Integer> l = new ArrayList<>();
    for (String t : texts) {
      for (int id : gpt2.encode(t)) {
        l.add(id);
      }
      l.add(gpt2.eotId());
    }
    return l;
  }

  private static List<Integer> train(Path out) {
    return TokenizeSplitsTest.stream(ShardReader.open(out.toString(), HadoopConf.create()), "train", null);
  }

  @Test
  void extensionlessTextFilesAreReadAsTextWithAWarningAndBinaryOnesAreNamed(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("books"));
    Files.writeString(in.resolve("LICENSE"), "Permission is hereby granted, free of charge, to any person.");
    Files.writeString(in.resolve("README"), "Read me first: the books are here. Caf\u00e9 na\u00efve.");
    Path out = dir.resolve("out");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Manifest m = TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(in.toString()), "seq_len=8",
        "split=tokens", "val_fraction=0"), new PrintStream(console, true, StandardCharsets.UTF_8));
    assertEquals(2, m.sniffedTextFiles());
    assertEquals(ids(Files.readString(in.resolve("LICENSE")), Files.readString(in.resolve("README"))), train(out));
    String printed = console.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("LICENSE") && printed.contains("valid UTF-8 without NUL bytes"), printed);

    Files.write(in.resolve("blob"), new byte[] {'P', 'K', 3, 4, 0, 0, 1, 2});
    InputException e = assertThrows(InputException.class, () -> TokenizeJob.run(spark,
        TokenizeSplitsTest.config(dir.resolve("out2"), List.of(in.toString())), TokenizeSplitsTest.QUIET));
    assertTrue(e.getMessage().contains("blob") && e.getMessage().contains("unknown input format"), e.getMessage());
  }

  @Test
  void invalidUtf8AndByteOrderMarksAreReplacedAndCountedInEveryReader(@TempDir Path dir) throws IOException {
    Path in = Files.createDirectories(dir.resolve("in"));
    ByteArrayOutputStream txt = new ByteArrayOutputStream();
    txt.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    StringBuilder expectedText = new StringBuilder();
    for (int i = 0; i < 3000; i++) { // ~100 KB: several splits, bad bytes in more than one
      txt.write(("Line " + i + " is fine.").getBytes(StandardCharsets.UTF_8));
      expectedText.append("Line ").append(i).append(" is fine.");
      if (i % 1000 == 500) {
        txt.write(new byte[] {(byte) 0xFF, (byte) 0xC3});
        expectedText.append("\uFFFD\uFFFD");
      }
      txt.write('\n');
      expectedText.append('\n');
    }
    Files.write(in.resolve("a.txt"), txt.toByteArray());
    byte[] json = "{\"text\": \"bad \u0000 byte\"}\n".replace("\u0000", "X").getBytes(StandardCharsets.UTF_8);
    json[json.length - 9] = (byte) 0xFE; // the X
    ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
    jsonl.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    jsonl.write(json);
    Files.write(in.resolve("b.jsonl"), jsonl.toByteArray());
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(in.toString()), "seq_len=64",
        "split=tokens", "val_fraction=0", "num_shards=5", "min_chars=1"), TokenizeSplitsTest.QUIET);
    assertEquals(2, m.invalidUtf8Files());
    assertEquals(3 * 2 + 1, m.invalidUtf8Bytes());
    assertEquals(2, m.bomFiles());
    assertEquals(ids(expectedText.toString(), "bad \uFFFD byte"), train(out));
  }

  @Test
  void compressedJsonlWithANestedTextFieldReadsLikePlainJsonl(@TempDir Path dir) throws IOException {
    List<String> texts = List.of("The first record, in zstd.", "The second one: bzip2.", "A third, xz.",
        "And a plain fourth.");
    String[] names = {"a.jsonl.zst", "b.jsonl.bz2", "c.jsonl.xz", "d.jsonl"};
    Path in = Files.createDirectories(dir.resolve("in"));
    for (int i = 0; i < names.length; i++) {
      byte[] line = ("{\"meta\": {\"lang\": \"en\", \"body\": \"" + texts.get(i) + "\"}}\n")
          .getBytes(StandardCharsets.UTF_8);
      try (OutputStream raw = Files.newOutputStream(in.resolve(names[i]));
           OutputStream z = switch (i) {
             case 0 -> new ZstdOutputStream(raw);
             case 1 -> new BZip2CompressorOutputStream(raw);
             case 2 -> new XZOutputStream(raw, new LZMA2Options());
             default -> raw;
           }) {
        z.write(line);
      }
    }
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(in.toString()), "seq_len=8",
        "split=tokens", "val_fraction=0", "text_field=meta.body"), TokenizeSplitsTest.QUIET);
    assertEquals(4, m.documentsRead());
    assertEquals(ids(texts.toArray(String[]::new)), train(out));

    Files.write(in.resolve("e.jsonl.zst"), "not zstd at all".getBytes(StandardCharsets.UTF_8));
    InputException e = assertThrows(InputException.class, () -> TokenizeJob.run(spark, TokenizeSplitsTest.config(
        dir.resolve("out2"), List.of(in.toString()), "text_field=meta.body"), TokenizeSplitsTest.QUIET));
    assertTrue(e.getMessage().contains("e.jsonl.zst") && e.getMessage().contains("zst"), e.getMessage());
  }

  @Test
  void recordsLongerThanMaxDocCharsAreCutOrSkippedAndCounted(@TempDir Path dir) throws IOException {
    String longText = "word ".repeat(600);      // 3000 chars: cut to 1024
    String hugeText = "x".repeat(20_000);        // a line over 4 × 1024 + 4096 chars: skipped unread
    Path file = dir.resolve("d.jsonl");
    Files.writeString(file, "{\"text\": \"short one\"}\n{\"text\": \"" + longText + "\"}\n{\"text\": \"" + hugeText
        + "\"}\n{\"text\": \"last one\"}\n");
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, TokenizeSplitsTest.config(out, List.of(file.toString()), "seq_len=8",
        "split=tokens", "val_fraction=0", "max_doc_chars=1024"), TokenizeSplitsTest.QUIET);
    assertEquals(1, m.truncatedDocuments());
    assertEquals(1, m.skippedLongDocuments());
    assertEquals(3, m.documentsRead());
    assertEquals(ids("short one", longText.substring(0, 1024), "last one"), train(out));
  }
}
