package dev.sparkgpt.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.eval.EvalReport;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.eval.TaskResult;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.EvalJob;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The eval job's classification task on a classify finetune: Spark and one thread agree with the finetune's scoring. */
class ClassificationEvalTest extends SparkTestBase {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final String SPAM = "src/main/resources/data/finetune/SMSSpamCollection";

  private static EvalConfig eval(String checkpoint, Path out, boolean distributed, String... files) {
    return ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null, List.of("distributed=" + distributed,
        "batch_size=16", "partitions=3"), Map.of("checkpoint", checkpoint, "out", out.toString(), "classification",
        List.of(files)), null).validate(true);
  }

  @Test
  void accuracyLossAndConfusionMatchTheFinetunesOwnScoringOnSparkAndLocally(@TempDir Path dir) throws Exception {
    OneThread.pin();
    Path run = dir.resolve("spam");
    ClassifyFinetune.run(ClassifyFinetuneTest.config(run, "train.epochs=1"), QUIET);
    // 120 labelled lines from the collection as tsv, and the same as jsonl
    List<String> lines = Files.readAllLines(Path.of(SPAM)).subList(0, 120);
    Path tsv = dir.resolve("sms_sample.tsv");
    Files.write(tsv, lines);
    StringBuilder jsonl = new StringBuilder();
    for (String l : lines) {
      jsonl.append(JsonFiles.line(Map.of("label", l.substring(0, l.indexOf('\t')), "text",
          l.substring(l.indexOf('\t') + 1))));
    }
    Path json = dir.resolve("sms_sample_json.jsonl");
    Files.writeString(json, jsonl);

    Classifier.Loaded c = Classifier.load(run.toString());
    List<LabelledExamples.Example> examples = Classifier.read(tsv.toString(), c.labels(), new Configuration());
    ClassifyFinetune.Score expected = ClassifyFinetune.score(c.model(), ClassifyFinetune.encode(examples,
        Tokenizers.load("gpt2"), 48, new int[1]), 2, 0, 16, 50256);

    EvalReport spark = EvalJob.run(SparkTestBase.spark, eval(run.toString(), dir.resolve("spark.json"), true,
        tsv.toString(), json.toString()), GptScoringModel.factory(run.toString()), QUIET);
    EvalReport local = EvalJob.run(null, eval(run.toString(), dir.resolve("local.json"), false, tsv.toString()),
        GptScoringModel.factory(run.toString()), QUIET);
    for (TaskResult r : List.of(spark.tasks().get("sms_sample"), spark.tasks().get("sms_sample_json"),
        local.tasks().get("sms_sample"))) {
      assertEquals(120, r.n());
      assertEquals("classification", r.kind());
      assertEquals(List.of("ham", "spam"), r.labels());
      assertArrayEquals(expected.confusion(), r.confusion());
      assertEquals(expected.accuracy(), r.acc(), 0.0);
      assertEquals(expected.loss(), r.loss(), 1e-9);
      assertEquals(Math.sqrt(r.acc() * (1 - r.acc()) / 119), r.accStderr(), 1e-12);
    }
    assertTrue(expected.accuracy() > 0.8, "a spam classifier after one epoch: " + expected.accuracy());
    JsonNode report = JsonFiles.MAPPER.readTree(dir.resolve("spark.json").toFile());
    assertEquals(expected.confusion()[1][1], report.at("/tasks/sms_sample/confusion/1/1").asLong());
    assertEquals("spam", report.at("/tasks/sms_sample/labels/1").asText());

    Path bad = dir.resolve("bad.tsv");
    Files.write(bad, List.of("ham\tfine", "eggs\tnot a label"));
    InputException e = assertThrows(InputException.class, () -> EvalJob.run(null, eval(run.toString(),
        dir.resolve("bad.json"), false, bad.toString()), GptScoringModel.factory(run.toString()), QUIET));
    assertTrue(e.getMessage().contains("eggs"), e.getMessage());
    assertTrue(Files.notExists(dir.resolve("bad.json")), "no report for a failed run");

    List<String> notClassifier = new ArrayList<>(List.of("src/test/resources/fixtures/gpt2-hf-tiny"));
    ConfigException wrong = assertThrows(ConfigException.class, () -> EvalJob.run(null, eval(notClassifier.get(0),
        dir.resolve("x.json"), false, tsv.toString()), GptScoringModel.factory(notClassifier.get(0)), QUIET));
    assertTrue(wrong.getMessage().contains("is not a classify finetune"), wrong.getMessage());
  }
}
