package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.checkpoint.CheckpointStore;
import dev.sparkgpt.checkpoint.Fingerprints;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.io.SafetensorsReader;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Every reading verb takes a Hadoop URI: checkpoints written to a real HDFS (MiniDFSCluster) or named by a file: URI
 * give the same generations, scores and logits as the same directory given as a local path.
 */
class HadoopCheckpointVerbsTest {
  private static final String GPT2 = "src/test/resources/fixtures/gpt2-hf-tiny";
  private static final String COPA = "src/main/resources/data/eval/copa.jsonl";
  private static MiniDFSCluster hdfs;
  private static String root;

  @BeforeAll
  static void startHdfs(@TempDir Path base) throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
    conf.set("fs.file.impl", org.apache.hadoop.fs.LocalFileSystem.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    hdfs.waitActive();
    root = "hdfs://localhost:" + hdfs.getNameNodePort();
    hdfs.getFileSystem().copyFromLocalFile(new org.apache.hadoop.fs.Path(GPT2),
        new org.apache.hadoop.fs.Path("/models/gpt2"));
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.shutdown();
    }
  }

  @Test
  void generateAndEvalReadAHuggingFaceDirectoryOnHdfsOrByFileUri(@TempDir Path dir) throws Exception {
    String[] local = MainTest.run("", "generate", "--checkpoint", GPT2, "--prompt", "Every effort moves",
        "--max-new-tokens", "5");
    assertEquals("0", local[0], local[2]);
    for (String uri : new String[] {root + "/models/gpt2", Path.of(GPT2).toAbsolutePath().toUri().toString()}) {
      String[] r = MainTest.run("", "generate", "--checkpoint", uri, "--prompt", "Every effort moves",
          "--max-new-tokens", "5");
      assertEquals("0", r[0], uri + ": " + r[2]);
      assertEquals(local[1], r[1], uri);
    }
    JsonNode[] reports = new JsonNode[2];
    String[] from = {GPT2, root + "/models/gpt2"};
    for (int i = 0; i < 2; i++) {
      Path out = dir.resolve("report-" + i + ".json");
      String[] r = MainTest.run("", "eval", "--checkpoint", from[i], "--tasks", COPA, "--limit", "8", "--out",
          out.toString(), "--local");
      assertEquals("0", r[0], r[2]);
      reports[i] = JsonFiles.MAPPER.readTree(out.toFile());
    }
    assertEquals(8, reports[1].at("/tasks/copa/n").asInt());
    assertEquals(reports[0].at("/tasks/copa/acc").asDouble(), reports[1].at("/tasks/copa/acc").asDouble(), 0.0);
    assertEquals(reports[0].at("/tasks/copa/acc_norm").asDouble(), reports[1].at("/tasks/copa/acc_norm").asDouble(),
        0.0);
  }

  @Test
  void aSparkGptRunOnHdfsServesForwardAndGenerateAndChecksItsTokenizer(@TempDir Path dir) throws Exception {
    ModelConfig config = ModelConfigs.resolve("gpt2-tiny", Map.of("emb_dim", 16, "n_heads", 2, "n_layers", 1,
        "context_length", 32));
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 5);
    Configuration conf = hdfs.getConfiguration(0);
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("model", ModelConfigs.describe(config));
    state.put("tokenizer", Fingerprints.tokenizer(Tokenizers.load("gpt2")));
    new CheckpointStore(root + "/runs/tiny", conf, 2).save(7, model.parameters().toMap(DataType.FLOAT), Map.of(),
        state);

    Path logits = dir.resolve("logits.safetensors");
    String[] r = MainTest.run("", "forward", "--checkpoint", root + "/runs/tiny", "--ids", "15496,11,995", "--out",
        logits.toString());
    assertEquals("0", r[0], r[2]);
    try (SafetensorsReader reader = SafetensorsReader.open(logits)) {
      assertArrayEquals(ForwardCommand.logits(model, new int[] {15496, 11, 995}).ravel().toFloatVector(),
          reader.readFloats("logits"), 0f);
    }
    Checkpoint ck = Checkpoint.open(root + "/runs/tiny", conf);
    assertEquals(7, ck.step());
    assertEquals(Checkpoint.Kind.SPARKGPT, ck.kind());

    // recorded with another vocabulary: refused by name, accepted with the flag
    state.put("tokenizer", Map.of("name", "other", "hash", "0123abcd"));
    new CheckpointStore(root + "/runs/other", conf, 2).save(1, model.parameters().toMap(DataType.FLOAT), Map.of(),
        state);
    r = MainTest.run("", "generate", "--checkpoint", root + "/runs/other", "--prompt", "Hi", "--max-new-tokens", "2");
    assertTrue(!"0".equals(r[0]) && r[2].contains("another tokenizer") && r[2].contains(Fingerprints.ALLOW_TOKENIZER),
        r[2]);
    r = MainTest.run("", "generate", "--checkpoint", root + "/runs/other", "--prompt", "Hi", "--max-new-tokens", "2",
        Fingerprints.ALLOW_TOKENIZER);
    assertEquals("0", r[0], r[2]);
    FileSystem fs = hdfs.getFileSystem();
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/other/latest")));
  }
}
