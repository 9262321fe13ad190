package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.eval.LogLikelihood;
import dev.sparkgpt.eval.Prompts;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.model.ParamNames;
import dev.sparkgpt.model.TokenBatch;
import dev.sparkgpt.tokenizer.BpeTrainer;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The verbs on Hugging Face directories as users pass them (no conversion first), through {@code cli.Main}: generate,
 * eval and finetune on the GPT-2 and Llama fixtures, and the inputs they must refuse or crop. Expected values come
 * from the fixtures' independent references where they apply (reference.json's greedy tokens are GPT-2 ids; the Llama
 * fixture's are SentencePiece ids of a vocabulary we do not have), else from GptModel's plain forward pass on the same
 * tokens (no KV cache, no eval or generation code).
 */
class HfDirectoryVerbsTest {
  private static final String GPT2 = "src/test/resources/fixtures/gpt2-hf-tiny";
  private static final String LLAMA = "src/test/resources/fixtures/llama-hf-tiny";
  private static final String VERDICT = "src/main/resources/data/corpora/the-verdict.txt";
  private static final Tokenizer GPT2_TOKENIZER = Tokenizers.gpt2();

  @TempDir
  static Path shared;
  /** A 300-id BPE trained on The Verdict: fewer ids than the Llama fixture's 32,000-row vocabulary. */
  static Path smallTokenizer;

  @BeforeAll
  static void setUp() throws Exception {
    OneThread.pin();
    smallTokenizer = shared.resolve("bpe-300");
    BpeTrainer.train(BpeTrainer.countWords(Files.readString(Path.of(VERDICT))), 300).writeTo(smallTokenizer);
  }

  /** Greedy continuation by GptModel's stateless forward: the last {@code context} ids, argmax over the first n. */
  private static int[] greedy(GptModel model, int[] prompt, int steps, int n, int stopId) {
    List<Integer> out = new ArrayList<>();
    int[] ids = prompt;
    for (int i = 0; i < steps; i++) {
      int window = model.config().contextLength();
      float[] logits = model.nextLogits(Arrays.copyOfRange(ids, Math.max(0, ids.length - window), ids.length));
      int best = 0;
      for (int v = 1; v < n; v++) {
        best = logits[v] > logits[best] ? v : best;
      }
      if (best == stopId) {
        break;
      }
      out.add(best);
      ids = Arrays.copyOf(ids, ids.length + 1);
      ids[ids.length - 1] = best;
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  void generateOnTheGpt2DirectoryStartsWithTheReferenceGreedyToken() throws Exception {
    JsonNode reference = JsonFiles.MAPPER.readTree(Path.of(GPT2, "reference.json").toFile());
    int[] prefix = new int[7]; // the reference prompt up to its <|endoftext|>, which text cannot encode
    for (int t = 0; t < prefix.length; t++) {
      prefix[t] = reference.at("/input_ids/" + t).asInt();
    }
    String prompt = GPT2_TOKENIZER.decode(prefix);
    assertArrayEquals(prefix, GPT2_TOKENIZER.encode(prompt), "the prompt text encodes to the reference ids");

    String[] r = MainTest.run("", "generate", "--checkpoint", GPT2, "--prompt", prompt, "--max-new-tokens", "6");
    assertEquals("0", r[0], r[2]);
    int[] expected = greedy(Checkpoint.open(GPT2).model(), prefix, 6, 50257, GPT2_TOKENIZER.eotId());
    assertEquals(reference.at("/greedy_next_token_each_position/6").asInt(), expected[0]);
    assertEquals(prompt + GPT2_TOKENIZER.decode(expected) + System.lineSeparator(), r[1]);
    assertTrue(r[3].contains("generate: " + expected.length + " tokens"), r[3]);
  }

  @Test
  void generateOnTheLlamaDirectoryNeverPicksAnIdPastASmallerTokenizer() throws Exception {
    Tokenizer small = Tokenizers.load(smallTokenizer.toString());
    GptModel llama = Checkpoint.open(LLAMA).model();
    String prompt = "The picture was";
    int[] ids = small.encode(prompt);
    int[] expected = greedy(llama, ids, 8, small.vocabSize(), small.eotId());
    int[] unrestricted = greedy(llama, ids, 8, 32000, -1);
    assertTrue(Arrays.stream(unrestricted).anyMatch(id -> id >= small.vocabSize()),
        "over all 32,000 rows the model would pick ids the tokenizer lacks: " + Arrays.toString(unrestricted));

    String[] r = MainTest.run("", "generate", "--checkpoint", LLAMA, "--tokenizer", smallTokenizer.toString(),
        "--prompt", prompt, "--max-new-tokens", "8");
    assertEquals("0", r[0], r[2]);
    assertEquals(prompt + small.decode(expected) + System.lineSeparator(), r[1]);

    // sampling hot over the whole distribution still draws only the tokenizer's ids
    GenerationOptions.Loaded loaded = GenerationOptions.load(LLAMA, smallTokenizer.toString(), true, false);
    Generator.Result sampled = loaded.generator().generate(ids, 60, new Sampler(2.0, 0, 1, 11), List.of(), null);
    assertTrue(sampled.ids().length > 0);
    for (int id : sampled.ids()) {
      assertTrue(id >= 0 && id < small.vocabSize(), "sampled id " + id + " of " + Arrays.toString(sampled.ids()));
    }
  }

  @Test
  void aTokenizerWithMoreIdsThanTheModelIsRefusedByGenerateFinetuneAndEval() throws Exception {
    String[] none = MainTest.run("", "generate", "--checkpoint", LLAMA, "--prompt", "Hello");
    assertEquals("2", none[0]);
    assertTrue(none[2].startsWith("error: --tokenizer: " + LLAMA + " holds no tokenizer files (none of tokenizer.json,"
        + " tokenizer.model,"), none[2]);
    String[] g = MainTest.run("", "generate", "--checkpoint", LLAMA, "--tokenizer", "gpt2", "--prompt", "Hello");
    assertEquals("2", g[0]);
    assertEquals("error: --tokenizer: gpt2 has 50257 ids but the model only 32000. Fix: use the tokenizer the model "
        + "was trained with", g[2].trim());

    Path out = shared.resolve("refused-finetune");
    String[] f = MainTest.run("", "finetune", "classify", "--config", "conf/finetune/spam.yaml", "--base", LLAMA,
        "--out-dir", out.toString());
    assertEquals("2", f[0]);
    assertEquals("error: data.tokenizer: gpt2 has 50257 ids but " + LLAMA + " only 32000. Fix: use the tokenizer the "
        + "model was trained with", f[2].trim());
    assertFalse(Files.exists(out), "nothing written");

    Path report = shared.resolve("refused.json");
    String[] e = MainTest.run("", "eval", "--checkpoint", LLAMA, "--tasks", "src/main/resources/data/eval/copa.jsonl",
        "--set", "tokenizer=gpt2", "--out", report.toString(), "--local");
    assertEquals("2", e[0]);
    assertEquals("error: tokenizer: gpt2 has 50257 ids but the model of " + LLAMA + " only 32000. Fix: set tokenizer "
        + "to the one the model was trained with", e[2].trim());
    assertFalse(Files.exists(report), "no report");
  }

  @Test
  void aPromptLongerThanTheContextIsCroppedToItsLastWindowWithAWarning() throws Exception {
    String prompt = Files.readString(Path.of(VERDICT)).substring(0, 1000);
    int[] ids = GPT2_TOKENIZER.encode(prompt);
    assertTrue(ids.length > 128, ids.length + " tokens");
    String[] r = MainTest.run("", "generate", "--checkpoint", GPT2, "--prompt", prompt, "--max-new-tokens", "4");
    assertEquals("0", r[0], r[2]);
    assertTrue(r[3].contains("generate: the prompt has " + ids.length + " tokens, more than the model's context of "
        + "128: the model sees only its last 128"), r[3]);
    int[] expected = greedy(Checkpoint.open(GPT2).model(), ids, 4, 50257, GPT2_TOKENIZER.eotId());
    assertEquals(prompt + GPT2_TOKENIZER.decode(expected) + System.lineSeparator(), r[1]);
  }

  /** Sum of log p(continuation | context) from GptModel's logits, in double. */
  private static double logLikelihood(GptModel model, LogLikelihood.Request request) {
    int[] context = request.context();
    int[] continuation = request.continuation();
    int[] input = Arrays.copyOf(context, context.length + continuation.length - 1);
    System.arraycopy(continuation, 0, input, context.length, continuation.length - 1);
    INDArray logits = model.logits(new int[][] {input}).reshape(input.length, model.config().vocabSize())
        .castTo(DataType.DOUBLE);
    double sum = 0;
    for (int i = 0; i < continuation.length; i++) {
      double[] row = logits.getRow(context.length - 1 + i).toDoubleVector();
      double max = Arrays.stream(row).max().orElseThrow();
      double z = Arrays.stream(row).map(x -> Math.exp(x - max)).sum();
      sum += row[continuation[i]] - max - Math.log(z);
    }
    return sum;
  }

  @Test
  void evalScoresBothDirectoriesPerplexityAndTheGpt2DirectorysMultipleChoice() throws Exception {
    Path text = shared.resolve("verdict-120.txt");
    Files.writeString(text, Files.readString(Path.of(VERDICT)).substring(0, 120)); // < 128 tokens: one window
    Path report = shared.resolve("gpt2-report.json");
    String copa = "src/main/resources/data/eval/copa.jsonl";
    String[] r = MainTest.run("", "eval", "--checkpoint", GPT2, "--tasks", copa, "--limit", "8", "--perplexity",
        text.toString(), "--out", report.toString(), "--local");
    assertEquals("0", r[0], r[2]);
    JsonNode json = JsonFiles.MAPPER.readTree(report.toFile());

    GptModel gpt2 = Checkpoint.open(GPT2).model();
    assertPerplexity(gpt2, GPT2_TOKENIZER, Files.readString(text), json.at("/perplexity").get(text.toString()));
    int correct = 0;
    int correctNorm = 0;
    List<String> lines = Files.readAllLines(Path.of(copa)).subList(0, 8);
    for (String line : lines) {
      JsonNode item = JsonFiles.MAPPER.readTree(line);
      double[] lls = new double[item.get("choices").size()];
      double[] norm = new double[lls.length];
      for (int c = 0; c < lls.length; c++) {
        String choice = item.get("choices").get(c).asText();
        lls[c] = logLikelihood(gpt2, Prompts.encodePair(GPT2_TOKENIZER, item.get("query").asText(), " " + choice));
        norm[c] = lls[c] / choice.getBytes(StandardCharsets.UTF_8).length;
      }
      int gold = item.get("gold").asInt();
      correct += firstArgmax(lls) == gold ? 1 : 0;
      correctNorm += firstArgmax(norm) == gold ? 1 : 0;
    }
    assertEquals(8, json.at("/tasks/copa/n").asInt());
    assertEquals(correct / 8.0, json.at("/tasks/copa/acc").asDouble(), 1e-12);
    assertEquals(correctNorm / 8.0, json.at("/tasks/copa/acc_norm").asDouble(), 1e-12);

    Path llamaReport = shared.resolve("llama-report.json");
    r = MainTest.run("", "eval", "--checkpoint", LLAMA, "--perplexity", text.toString(), "--set",
        "tokenizer=" + smallTokenizer, "--out", llamaReport.toString(), "--local");
    assertEquals("0", r[0], r[2]);
    assertPerplexity(Checkpoint.open(LLAMA).model(), Tokenizers.load(smallTokenizer.toString()),
        Files.readString(text), JsonFiles.MAPPER.readTree(llamaReport.toFile()).at("/perplexity")
            .get(text.toString()));
  }

  private static int firstArgmax(double[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      best = values[i] > values[best] ? i : best;
    }
    return best;
  }

  /** eval's text perplexity = exp(mean NLL of <|endoftext|> + encode(text)) from GptModel's own loss. */
  private static void assertPerplexity(GptModel model, Tokenizer tok, String text, JsonNode result) {
    int[] encoded = tok.encode(text);
    int[] stream = new int[encoded.length + 1];
    stream[0] = tok.eotId();
    System.arraycopy(encoded, 0, stream, 1, encoded.length);
    assertTrue(stream.length <= model.config().contextLength() + 1, "one window");
    double meanNll = model.loss(new TokenBatch(new int[][] {Arrays.copyOf(stream, stream.length - 1)},
        new int[][] {Arrays.copyOfRange(stream, 1, stream.length)}));
    assertEquals(encoded.length, result.get("tokens").asInt());
    assertEquals(meanNll, result.get("mean_nll").asDouble(), 1e-5);
    assertEquals(Math.exp(meanNll), result.get("perplexity").asDouble(), 1e-5 * Math.exp(meanNll));
  }

  @Test
  void finetuneClassifyTrainsOneEpochFromTheGpt2Directory() throws Exception {
    List<String> spam = new ArrayList<>();
    List<String> ham = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("src/main/resources/data/finetune/SMSSpamCollection"))) {
      (line.startsWith("spam\t") ? spam : ham).add(line);
    }
    Path data = shared.resolve("sms-40.tsv");
    List<String> tiny = new ArrayList<>(spam.subList(0, 20));
    tiny.addAll(ham.subList(0, 20));
    Files.write(data, tiny);
    Path out = shared.resolve("classify");
    String[] r = MainTest.run("", "finetune", "classify", "--config", "conf/finetune/spam.yaml", "--base", GPT2,
        "--out-dir", out.toString(), "--set", "data.path=" + data, "--set", "train.epochs=1", "--set",
        "train.trainable=last_block_and_head", "--set", "optimizer.lr=0.01", "--set", "optimizer.min_lr=0.01");
    assertEquals("0", r[0], r[2]);

    GptModel hf = Checkpoint.open(GPT2).model();
    GptModel tuned = Checkpoint.open(out.toString()).model();
    assertEquals(hf.config().withClasses(2), tuned.config(), "the Hugging Face architecture with a 2-row head");
    for (String frozen : List.of(ParamNames.TOKEN_EMBEDDING, ParamNames.POSITION_EMBEDDING,
        ParamNames.block(0, ParamNames.QKV_WEIGHT), ParamNames.block(0, ParamNames.FF_DOWN_BIAS))) {
      assertArrayEquals(hf.parameters().get(frozen).ravel().toFloatVector(),
          tuned.parameters().get(frozen).ravel().toFloatVector(), 0f, frozen + " is the HF tensor, frozen");
    }
    String trained = ParamNames.block(1, ParamNames.QKV_WEIGHT);
    double moved = hf.parameters().get(trained).castTo(DataType.DOUBLE).sub(tuned.parameters().get(trained)
        .castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    assertTrue(moved > 1e-4, trained + " trained: max change " + moved);
    assertArrayEquals(new long[] {2, 64}, tuned.parameters().get(ParamNames.OUT_HEAD).shape());
    assertTrue(Files.readString(out.resolve("metrics.jsonl")).contains("\"epoch\":1"));
  }
}
