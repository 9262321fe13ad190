package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The instruction finetune (the book's chapter 7): collate/masking exactly, and a tiny model that memorises. */
class InstructFinetuneTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final int X = TokenBatch.IGNORE_INDEX;
  private static final int EOT = 50256;

  @BeforeAll
  static void oneThread() {
    OneThread.pin();
  }

  @Test
  void collatePadsWithEndOfTextAndIgnoresAllButTheFirstPad() {
    List<InstructionExamples.Encoded> rows = List.of(new InstructionExamples.Encoded(new int[] {1, 2, 3, 4, EOT}, 2),
        new InstructionExamples.Encoded(new int[] {5, 6, EOT}, 1));
    TokenBatch b = InstructionExamples.collate(rows, EOT, false);
    assertArrayEquals(new int[][] {{1, 2, 3, 4}, {5, 6, EOT, EOT}}, b.inputs());
    assertArrayEquals(new int[][] {{2, 3, 4, EOT}, {6, EOT, X, X}}, b.targets());
    TokenBatch masked = InstructionExamples.collate(rows, EOT, true);
    // prompt of 2 tokens: the target predicting token 2 (position 0) is ignored; prompt of 1: nothing to ignore
    assertArrayEquals(new int[][] {{X, 3, 4, EOT}, {6, EOT, X, X}}, masked.targets());
  }

  @Test
  void encodingIsPromptThenResponseThenEndOfText() {
    Tokenizer tok = Tokenizers.load("gpt2");
    InstructionExamples.Entry e = new InstructionExamples.Entry("Name a colour.", "", "Blue.", 0);
    int[] truncated = {0};
    InstructionExamples.Encoded enc = InstructionExamples.encode(e, InstructionTemplate.ALPACA, tok, 1000, truncated);
    int[] prompt = tok.encode(InstructionTemplate.ALPACA.format("Name a colour.", ""));
    assertEquals(prompt.length, enc.promptLength());
    assertEquals(InstructionTemplate.ALPACA.format("Name a colour.", "") + "Blue.<|endoftext|>",
        tok.decode(enc.ids()));
    InstructionExamples.Encoded cut = InstructionExamples.encode(e, InstructionTemplate.ALPACA, tok, 10, truncated);
    assertEquals(11, cut.ids().length);
    assertEquals(1, truncated[0]);
  }

  @Test
  void aTinyModelMemorisesAFewInstructionsAndAnswersThemVerbatim(@TempDir Path dir) throws Exception {
    Path data = InstructionFacts.write(dir, 10);
    InstructConfig c = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), null, List.of(
        "data.path=" + data, "model.emb_dim=64", "model.n_heads=2", "model.n_layers=2", "model.context_length=64",
        "model.drop_rate=0", "train.epochs=20", "train.batch_size=8", "optimizer.lr=0.003", "optimizer.min_lr=0.003",
        "optimizer.weight_decay=0", "data.mask_prompt=true", "generate.max_new_tokens=8", "data.train_fraction=0.8",
        "data.val_fraction=0.1"), Map.of("out_dir", dir.resolve("run").toString()), null).validate();
    InstructFinetune.Result r = InstructFinetune.run(c, QUIET);
    assertEquals(4, r.responses(), "10% of 40 entries are the test split");
    assertTrue(r.valLoss() < 0.3, "val loss " + r.valLoss());
    List<String> lines = Files.readAllLines(dir.resolve("run/" + InstructFinetune.RESPONSES));
    assertEquals(4, lines.size());
    for (String line : lines) {
      JsonNode n = JsonFiles.MAPPER.readTree(line);
      assertEquals(n.get("output").asText(), n.get("model_response").asText(), "memorised answer to "
          + n.get("instruction").asText());
    }
  }

  @Test
  void theShippedFinetuneConfigsLoad() {
    InstructConfig alpaca = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(),
        Path.of("conf/finetune/alpaca.yaml"), List.of(), Map.of(), null).validate();
    assertEquals(256, ((Number) alpaca.model().get("context_length")).intValue());
    dev.sparkgpt.config.ClassifyConfig spam = ConfigLoader.load(dev.sparkgpt.config.ClassifyConfig.class,
        dev.sparkgpt.config.ClassifyConfig.defaults(), Path.of("conf/finetune/spam.yaml"), List.of(), Map.of(), null)
        .validate();
    assertEquals(List.of("ham", "spam"), spam.data().labels());
  }

  @Test
  void entriesMissingFieldsAreNamedByIndex(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("bad.json");
    Files.writeString(data, "[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": \"c\", \"input\": \"\"}]");
    InputException e = assertThrows(InputException.class, () -> InstructionExamples.read(data.toString(),
        new Configuration()));
    assertEquals(data + ": entry 1: missing or empty field 'output'. Fix: every entry needs instruction and output "
        + "(input may be empty)", e.getMessage());
    assertEquals(1100, InstructionExamples.read("src/main/resources/data/finetune/instruction-data.json",
        new Configuration()).size());
  }

  @Test
  void jsonlEntriesAndTheBooks85To5To10Split(@TempDir Path dir) throws Exception {
    Path jsonl = dir.resolve("entries.jsonl");
    Files.writeString(jsonl, "{\"instruction\": \"Name a colour.\", \"output\": \"Blue.\"}\n\n"
        + "{\"instruction\": \"Sum.\", \"input\": \"2 and 3\", \"output\": \"5\"}\n");
    assertEquals(List.of(new InstructionExamples.Entry("Name a colour.", "", "Blue.", 0),
        new InstructionExamples.Entry("Sum.", "2 and 3", "5", 1)), InstructionExamples.read(jsonl.toString(),
        new Configuration()));
    Files.writeString(jsonl, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \n");
    InputException e = assertThrows(InputException.class, () -> InstructionExamples.read(jsonl.toString(),
        new Configuration()));
    assertEquals(jsonl + " line 2: not valid JSON. Fix: one {\"instruction\", \"input\", \"output\"} object per line, or "
        + "a JSON array", e.getMessage());

    InstructConfig c = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(),
        Path.of("conf/finetune/alpaca.yaml"), List.of(), Map.of(), null).validate();
    InstructionExamples.Splits s = InstructionExamples.split(InstructionExamples.read(c.data().path(),
        new Configuration()), c.data(), c.seed());
    assertEquals(List.of(935, 55, 110), List.of(s.train().size(), s.val().size(), s.test().size()));
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    List.of(s.train(), s.val(), s.test()).forEach(part -> part.forEach(x -> assertTrue(seen.add(x.index()))));
    assertEquals(s, InstructionExamples.split(InstructionExamples.read(c.data().path(), new Configuration()),
        c.data(), c.seed()), "deterministic");
  }

  @Test
  void theTemplateComesFromDataTemplate(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("custom.yaml");
    Files.writeString(yaml, "data:\n  path: x.json\n  template: custom\n  custom_template:\n    preamble: \"\"\n"
        + "    instruction: \"Q: \"\n    input: \"Context: \"\n    response: \"A:\"\n    separator: \"\\n\"\n"
        + "    stop: \"\\nQ:\"\n");
    InstructConfig custom = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), yaml, List.of(),
        Map.of(), null).validate();
    assertEquals(new InstructionTemplate("", "Q: ", "Context: ", "A:", "\n", "\nQ:"),
        InstructFinetune.template(custom.data()));
    InstructConfig phi3 = ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), yaml,
        List.of("data.template=phi3"), Map.of(), null).validate();
    assertEquals(InstructionTemplate.PHI3, InstructFinetune.template(phi3.data()));
    assertEquals(InstructionTemplate.ALPACA, InstructFinetune.template(InstructConfig.defaults().data()));
    dev.sparkgpt.config.ConfigException bad = assertThrows(dev.sparkgpt.config.ConfigException.class,
        () -> ConfigLoader.load(InstructConfig.class, InstructConfig.defaults(), yaml, List.of("data.template=chatml"),
            Map.of(), null).validate());
    assertTrue(bad.getMessage().contains("data.template: 'chatml' is not one of [alpaca, custom, phi3]"),
        bad.getMessage());
  }
}
