package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.BlockPacker;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.data.Pieces;
import dev.sparkgpt.data.ShardReader;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files cut into many byte-range splits give the ids, documents and doc_ids of reading them whole. */
class TokenizeSplitsTest extends SparkTestBase {
  static final Path SHAKESPEARE = Path.of("src/main/resources/data/corpora/tinyshakespeare.txt");
  static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private final Tokenizer gpt2 = Tokenizers.load("gpt2");

  static TokenizeConfig config(Path out, List<String> input, String... overrides) {
    return ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), null, List.of(overrides),
        Map.of("input", input, "output", out.toString()), null);
  }

  /** A split's token stream rebuilt from its rows, and each row's doc_id checked against {@code docOf}. */
  static List<Integer> stream(ShardReader reader, String split, List<Long> docOf) {
    List<Integer> ids = new ArrayList<>();
    for (ShardReader.ShardRow row : reader.readRows(split, -1)) {
      assertEquals(ids.isEmpty() ? 0 : ids.size() - 1, row.offset());
      if (docOf != null) {
        assertEquals(docOf.get((int) row.offset()), row.docId(), "doc_id of the row at " + row.offset());
      }
      for (int i = ids.isEmpty() ? 0 : 1; i < row.length(); i++) {
        ids.add(row.tokens()[i]);
      }
    }
    return ids;
  }

  private List<Integer> ids(String text) {
    List<Integer> l = new ArrayList<>();
    for (int id : gpt2.encode(text)) {
      l.add(id);
    }
    l.add(gpt2.eotId());
    return l;
  }

  @Test
  void oneDocumentFileCutIntoManySplitsEncodesLikeTheWhole(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, config(out, List.of(SHAKESPEARE.toString()), "seq_len=64",
        "split=tokens", "val_fraction=0.1", "num_shards=12", "chunk_chars=4096"), QUIET);
    List<Integer> expected = ids(Files.readString(SHAKESPEARE));
    long val = Math.round(expected.size() * 0.1);
    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    List<Integer> all = new ArrayList<>(stream(reader, "train", null));
    all.addAll(stream(reader, "val", null));
    assertEquals(expected, all, "ids of 12 byte ranges = ids of the whole file");
    assertEquals(expected.size() - val, m.splits().get("train").tokens());
    assertTrue(m.splits().get("train").shards().size() >= 8, "one shard per split: " + m.splits().get("train"));
    assertEquals(1, m.documentsRead());
    assertEquals(1, m.splits().get("train").documents());
    assertEquals(1, m.splits().get("val").documents(), "the one document straddles the boundary");
  }

  @Test
  void separatedDocumentsLongerThanASplitGoOnIntoTheNextOne(@TempDir Path dir) throws IOException {
    Random random = new Random(7);
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      int lines = i % 17 == 3 ? 4000 : 1 + random.nextInt(40); // a few documents of ~100 KB
      StringBuilder d = new StringBuilder();
      for (int l = 0; l < lines; l++) {
        d.append(l == 0 ? "" : "\n").append("Line ").append(l).append(" of document ").append(i)
            .append(random.nextBoolean() ? " says a thing." : " (and another)");
      }
      docs.add(d.toString());
    }
    Path file = dir.resolve("docs.txt");
    Files.writeString(file, String.join("\n<SEP>\n", docs) + "\n");
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, config(out, List.of(file.toString()), "seq_len=32", "split=tokens",
        "val_fraction=0.2", "num_shards=40", "doc_separator=<SEP>", "chunk_chars=1024"), QUIET);
    List<Integer> expected = new ArrayList<>();
    List<Long> docOf = new ArrayList<>();
    for (int i = 0; i < docs.size(); i++) {
      List<Integer> d = ids(docs.get(i));
      expected.addAll(d);
      for (int t = 0; t < d.size(); t++) {
        docOf.add((long) i);
      }
    }
    long trainTokens = expected.size() - Math.round(expected.size() * 0.2);
    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    List<Integer> all = new ArrayList<>(stream(reader, "train", docOf));
    all.addAll(stream(reader, "val", docOf.subList((int) trainTokens, docOf.size())));
    assertEquals(expected, all);
    assertEquals(60, m.documentsRead());
    long trainDocs = docOf.get((int) trainTokens - 1) + 1;
    assertEquals(trainDocs, m.splits().get("train").documents());
    assertEquals(60 - docOf.get((int) trainTokens), m.splits().get("val").documents());
  }

  @Test
  void jsonlCutIntoSplitsKeepsEveryDocumentItsSplitAndItsId(@TempDir Path dir) throws IOException {
    List<String> texts = new ArrayList<>();
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < 400; i++) {
      String t = "Record " + i + " tells " + "a story ".repeat(1 + i % 23) + "and ends.";
      texts.add(t);
      jsonl.append("{\"id\": ").append(i).append(", \"text\": \"").append(t).append("\"}\n");
    }
    Path file = dir.resolve("corpus.jsonl");
    Files.writeString(file, jsonl);
    Path out = dir.resolve("out");
    Manifest m = TokenizeJob.run(spark, config(out, List.of(file.toString()), "seq_len=16", "split=documents",
        "val_fraction=0.25", "num_shards=9"), QUIET);
    ShardReader reader = ShardReader.open(out.toString(), HadoopConf.create());
    for (int split = 0; split < 2; split++) {
      List<Integer> expected = new ArrayList<>();
      List<Long> docOf = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        if (Pieces.splitOf(Pieces.contentHash(texts.get(i))[0], 1337, 0.25) == split) {
          List<Integer> d = ids(texts.get(i));
          expected.addAll(d);
          for (int t = 0; t < d.size(); t++) {
            docOf.add((long) i);
          }
        }
      }
      String name = BlockPacker.SPLIT_NAMES[split];
      assertEquals(expected, stream(reader, name, docOf), name);
      assertEquals(docOf.stream().distinct().count(), m.splits().get(name).documents());
    }
    assertEquals(400, m.documentsRead());
    assertTrue(m.splits().get("train").shards().size() > 1);
  }
}
