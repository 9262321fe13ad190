package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.jobs.EvalJob;
import dev.sparkgpt.model.GptParameters;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Evaluation through a real GPT checkpoint on disk (CheckpointStore → Checkpoint → GptScoringModel on Spark
 * executors) whose answers are known on paper. The weights are GPT-2's random initialisation with the two
 * projections that write into the residual stream (attention out_proj, feed-forward proj) and the position
 * embedding set to zero: every block computes, but adds exactly 0, so the last hidden state is LayerNorm(tok_emb[id])
 * of the current token alone. The token embedding (tied LM head) is zero except for four colours and their cues, along
 * orthogonal ±1 rows h_k of a 16 × 16 Hadamard matrix: cue k = h_k, colour k = 2·h_k. After cue k the logits are
 * 32·s for colour k, 16·s for the cue itself (s = 1/√(1 + 1e-5), LayerNorm's ε) and exactly 0 for every other id;
 * after any other token all logits are 0.
 */
class GptCheckpointEvalTest extends SparkTestBase {
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final int WIDTH = 16;
  private static final List<String> CUES = List.of(" sky", " grass", " snow", " blood");
  private static final List<String> COLOURS = List.of(" blue", " green", " white", " red");

  private static int id(String token) {
    int[] ids = GPT2.encode(token);
    assertEquals(1, ids.length, "'" + token + "' is one GPT-2 token");
    return ids[0];
  }

  /** Row k (1..15) of the Sylvester Hadamard matrix: ±1, mean 0, orthogonal to the other rows. */
  private static double[] hadamard(int k, double scale) {
    double[] row = new double[WIDTH];
    for (int j = 0; j < WIDTH; j++) {
      row[j] = scale * (Integer.bitCount(k & j) % 2 == 0 ? 1 : -1);
    }
    return row;
  }

  /** Writes the checkpoint of step 7 under {@code runDir}, as pretrain would (weights + state.json + latest). */
  private static void writeCheckpoint(Path runDir) {
    ModelConfig config = new ModelConfig(50257, 32, WIDTH, 2, 2, 0.0, true, true);
    GptParameters p = GptParameters.initialize(config, DataType.FLOAT, 11);
    for (String name : p.names()) {
      if (name.endsWith(ParamNames.ATTENTION_OUT_WEIGHT) || name.endsWith(ParamNames.ATTENTION_OUT_BIAS)
          || name.endsWith(ParamNames.FF_DOWN_WEIGHT) || name.endsWith(ParamNames.FF_DOWN_BIAS)
          || name.equals(ParamNames.POSITION_EMBEDDING) || name.equals(ParamNames.TOKEN_EMBEDDING)) {
        p.get(name).assign(0);
      }
    }
    INDArray embedding = p.get(ParamNames.TOKEN_EMBEDDING);
    for (int k = 0; k < CUES.size(); k++) {
      embedding.putRow(id(CUES.get(k)), Nd4j.createFromArray(hadamard(k + 1, 1)).castTo(DataType.FLOAT));
      embedding.putRow(id(COLOURS.get(k)), Nd4j.createFromArray(hadamard(k + 1, 2)).castTo(DataType.FLOAT));
    }
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("model", ModelConfigs.describe(config));
    state.put("tokenizer", Map.of("name", GPT2.name(), "hash", GPT2.hash()));
    new CheckpointStore(runDir.toString(), HadoopConf.create(), 1).save(7, p.toMap(DataType.FLOAT), Map.of(), state);
  }

  private static EvalConfig config(Path out, Path runDir, boolean distributed, Path... tasks) {
    List<String> sets = new ArrayList<>(List.of("batch_size=2", "partitions=2", "distributed=" + distributed));
    Map<String, Object> flags = new LinkedHashMap<>();
    flags.put("out", out.toString());
    flags.put("checkpoint", runDir.toString());
    flags.put("tasks", java.util.Arrays.stream(tasks).map(Path::toString).toList());
    return ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null, sets, flags, null);
  }

  @Test
  void multipleChoiceAndLastWordThroughATinyCheckpointScoreExactlyWhatTheWeightsSay(@TempDir Path dir)
      throws Exception {
    OneThread.pin();
    Path run = dir.resolve("run");
    writeCheckpoint(run);
    for (String cue : CUES) {
      int[] ids = GPT2.encode("Colour of" + cue);
      assertEquals(id(cue), ids[ids.length - 1], "a query ending in" + cue + " ends with the cue's token");
    }
    Path colours = dir.resolve("colours.jsonl");
    String four = "\"choices\": [\"red\", \"blue\", \"green\", \"white\"]";
    Files.writeString(colours, String.join("\n",
        "{\"query\": \"Colour of the sky\", " + four + ", \"gold\": 1}",       // blue: right
        "{\"query\": \"Colour of fresh grass\", " + four + ", \"gold\": 2}",   // green: right
        "{\"query\": \"Colour of new snow\", " + four + ", \"gold\": 3}",      // white: right
        "{\"query\": \"Colour of blood\", " + four + ", \"gold\": 0}",         // red: right
        "{\"query\": \"Colour of a clear sky\", \"choices\": [\"red\", \"blue\"], \"gold\": 0}",  // says blue: wrong
        // after " word" every id scores 0: acc's tie goes to choice 0 (wrong); acc_norm's −ln V / bytes is largest
        // for the longest choice, 8-byte "elephant" against 1-byte "a" (right)
        "{\"query\": \"Pick a word\", \"choices\": [\"a\", \"elephant\"], \"gold\": 1}") + "\n");
    Path lastWord = dir.resolve("cue_colour.jsonl");
    Files.writeString(lastWord, """
        {"text": "Look up at the sky blue"}
        {"text": "Walk on the grass green"}
        {"text": "Fresh fallen snow white"}
        {"text": "A drop of blood blue"}
        """); // greedy gives the cue's colour: right, right, right, wrong (blood says red)

    EvalReport onSpark = EvalJob.run(spark, config(dir.resolve("spark.json"), run, true, colours, lastWord),
        GptScoringModel.factory(run.toString()), QUIET);
    EvalReport local = EvalJob.run(null, config(dir.resolve("local.json"), run, false, colours, lastWord),
        GptScoringModel.factory(run.toString()), QUIET);

    TaskResult mc = onSpark.tasks().get("colours");
    assertEquals(6, mc.n());
    assertEquals(4.0 / 6, mc.acc());
    assertEquals(5.0 / 6, mc.accNorm());
    assertEquals(Math.sqrt((4.0 / 6) * (2.0 / 6) / 5), mc.accStderr(), 1e-15);
    assertEquals(4 * 4 + 2 + 2, mc.requests());
    TaskResult lw = onSpark.tasks().get("cue_colour");
    assertEquals(4, lw.n());
    assertEquals(0.75, lw.acc());
    // after a cue: ln p(its colour) = 32s − L, ln p(any other colour) = −L, L = ln(e^{32s} + e^{16s} + V − 2)
    double s = 1 / Math.sqrt(1 + 1e-5);
    double lse = Math.log(Math.exp(32 * s) + Math.exp(16 * s) + 50257 - 2);
    double expected = Math.exp(-(3 * (32 * s - lse) - lse) / 4);
    assertEquals(expected, lw.perplexity(), expected * 1e-4);
    assertEquals(withoutSeconds(local), withoutSeconds(onSpark), "executors and the driver agree exactly");

    JsonNode json = JsonFiles.MAPPER.readTree(dir.resolve("spark.json").toFile());
    assertEquals("step-000007", json.at("/checkpoint/id").asText());
    assertEquals(7, json.at("/checkpoint/step").asInt());
    assertEquals(4.0 / 6, json.at("/tasks/colours/acc").asDouble());
    assertEquals(5.0 / 6, json.at("/tasks/colours/acc_norm").asDouble());
    List<org.apache.spark.sql.Row> partitions = spark.read().parquet(dir.resolve(HarnessResults.PARQUET).toString())
        .groupBy("checkpoint", "task").count().orderBy("task").collectAsList();
    assertEquals(run + "/step-000007", partitions.get(0).getString(0), "the step directory, not step-000007 alone");
    assertEquals(List.of("colours", "cue_colour"), partitions.stream().map(r -> r.getString(1)).toList());
    assertEquals(6L, partitions.get(0).getLong(2));
  }

  @Test
  void anEvalWhoseTokenizerIsNotTheCheckpointsSaysSoBeforeScoring(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("run");
    writeCheckpoint(run); // records GPT-2's tokenizer
    Path out = dir.resolve("r.json");
    EvalConfig config = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(), null, List.of("distributed=false",
        "tokenizer=cl100k_base"), Map.of("out", out.toString(), "checkpoint", run.toString(), "tasks", List.of(
        "src/main/resources/data/eval/copa.jsonl")), null);
    ConfigException e = assertThrows(ConfigException.class, () -> EvalJob.run(null, config,
        GptScoringModel.factory(run.toString()), QUIET));
    assertEquals("tokenizer: cl100k_base (hash " + Tokenizers.load("cl100k_base").hash().substring(0, 12) + "…) is "
        + "another tokenizer than the one " + run + " was made with (hash " + GPT2.hash().substring(0, 12) + "…). "
        + "Fix: leave tokenizer unset (or 'auto') to use the checkpoint's own", e.getMessage());
    assertFalse(Files.exists(out), "nothing scored, nothing written");
  }

  private static Map<String, TaskResult> withoutSeconds(EvalReport report) {
    Map<String, TaskResult> out = new LinkedHashMap<>();
    report.tasks().forEach((k, v) -> out.put(k, v.withSeconds(0)));
    return out;
  }
}
