package dev.sparkgpt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.eval.GptScoringModel;
import dev.sparkgpt.eval.LogLikelihood;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.generate.Sampler;
import dev.sparkgpt.io.JsonFiles;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Prompt logprobs as lm-eval's {@code local-completions} asks for them (token ids, {@code echo}, {@code logprobs},
 * {@code max_tokens} 0 or 1) equal what {@code sparkgpt eval} scores ({@link LogLikelihood#score}) to 1e-5, greedy
 * flags included, so a harness run against serve reproduces our eval.
 */
class ServeLogProbsTest {
  private static final ModelConfig TINY = new ModelConfig(50257, 96, 32, 2, 2, 0.0, true, true);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Tokenizer tok;
  private static GptModel model;
  private static OpenAiServer server;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    OneThread.pin();
    tok = Tokenizers.load("gpt2");
    model = GptModel.initialize(TINY, DataType.FLOAT, 11);
    OpenAiServer.Worker w = new OpenAiServer.Worker(new Generator(new GptStepModel(model, null).scorer(), tok), tok,
        96, dev.sparkgpt.generate.InstructionTemplate.ALPACA, new GptScoringModel(model));
    server = new OpenAiServer("tiny", List.of(w), 4, 1 << 20, 8, new PrintStream(OutputStream.nullOutputStream()));
    url = "http://127.0.0.1:" + server.start("127.0.0.1", 0) + "/v1/completions";
  }

  @AfterAll
  static void stop() {
    server.stop(1);
  }

  private static JsonNode post(Map<String, Object> body) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type",
        "application/json").POST(HttpRequest.BodyPublishers.ofString(JsonFiles.line(body))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return JsonFiles.MAPPER.readTree(r.body());
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void echoedPromptLogprobsEqualTheEvalScorerAndItsGreedyFlag() throws Exception {
    String[][] pairs = {{"The capital of France is", " Paris"}, {"One, two, three,", " four, five"},
        {"A", " completely unexpected continuation of words"}};
    GptScoringModel scorer = new GptScoringModel(model);
    for (int maxTokens : new int[] {0, 1}) { // 0: the prompt only; 1: as lm-eval asks (and drops the last)
      List<int[]> prompts = Arrays.stream(pairs).map(p -> concat(tok.encode(p[0]), tok.encode(p[1]))).toList();
      JsonNode body = post(Map.of("prompt", prompts, "echo", true, "max_tokens", maxTokens, "logprobs", 1,
          "temperature", 0));
      assertEquals(pairs.length, body.get("choices").size());
      for (int i = 0; i < pairs.length; i++) {
        int[] ctx = tok.encode(pairs[i][0]);
        int[] cont = tok.encode(pairs[i][1]);
        LogLikelihood.Score expected = LogLikelihood.score(scorer, List.of(new LogLikelihood.Request(ctx, cont)))[0];
        JsonNode lp = body.at("/choices/" + i + "/logprobs");
        assertTrue(lp.get("token_logprobs").get(0).isNull(), "nothing precedes the first token");
        assertEquals(ctx.length + cont.length + maxTokens, lp.get("token_logprobs").size());
        double sum = 0;
        boolean greedy = true;
        for (int t = ctx.length; t < ctx.length + cont.length; t++) { // lm-eval: token_logprobs[ctxlen:-1]
          double value = lp.get("token_logprobs").get(t).asDouble();
          sum += value;
          double best = Double.NEGATIVE_INFINITY;
          for (Iterator<JsonNode> it = lp.get("top_logprobs").get(t).elements(); it.hasNext(); ) {
            best = Math.max(best, it.next().asDouble());
          }
          greedy &= value == best;
        }
        assertEquals(expected.logProb(), sum, 1e-5, pairs[i][0] + pairs[i][1]);
        assertEquals(expected.greedy(), greedy, "lm-eval's is_greedy for " + pairs[i][1]);
        StringBuilder shown = new StringBuilder();
        for (int t = 0; t < ctx.length + cont.length; t++) {
          shown.append(lp.get("tokens").get(t).asText());
        }
        assertEquals(pairs[i][0] + pairs[i][1], shown.toString());
        String text = body.at("/choices/" + i + "/text").asText();
        assertTrue(text.startsWith(pairs[i][0] + pairs[i][1]), "echo puts the prompt first: " + text);
      }
    }
  }

  @Test
  void topLogprobsAreSortedProbabilitiesAndGeneratedTokensAreScoredToo() throws Exception {
    JsonNode body = post(Map.of("prompt", "Once upon a time", "max_tokens", 5, "logprobs", 5, "temperature", 0));
    JsonNode lp = body.at("/choices/0/logprobs");
    Generator.Result g = new Generator(new GptStepModel(model, null).scorer(), tok).generate(tok.encode(
        "Once upon a time"), 5, Sampler.greedy(), List.of(), null);
    assertEquals(g.text(), body.at("/choices/0/text").asText());
    assertEquals(5, lp.get("tokens").size(), "without echo: the completion's tokens only");
    assertEquals("Once upon a time".length(), lp.get("text_offset").get(0).asInt());
    for (int t = 0; t < 5; t++) {
      JsonNode top = lp.get("top_logprobs").get(t);
      double previous = 0;
      double mass = 0;
      for (Iterator<JsonNode> it = top.elements(); it.hasNext(); ) {
        double v = it.next().asDouble();
        assertTrue(v <= previous + 1e-12, "descending");
        previous = v;
        mass += Math.exp(v);
      }
      assertTrue(top.size() >= 5 && mass <= 1 + 1e-6, top.toString());
      // greedy decoding picked the most likely token: its logprob is the first alternative's
      assertEquals(top.elements().next().asDouble(), lp.get("token_logprobs").get(t).asDouble(), 0.0);
    }
  }

  @Test
  void nChoicesSampleWithSeedPlusTheirIndex() throws Exception {
    JsonNode body = post(Map.of("prompt", "Hello", "max_tokens", 6, "n", 2, "seed", 40, "temperature", 0.9));
    Generator g = new Generator(new GptStepModel(model, null).scorer(), tok);
    for (int j = 0; j < 2; j++) {
      String expected = g.generate(tok.encode("Hello"), 6, new Sampler(0.9, 0, 1.0, 40 + j), List.of(), null).text();
      assertEquals(expected, body.at("/choices/" + j + "/text").asText());
      assertEquals(j, body.at("/choices/" + j + "/index").asInt());
    }
    assertEquals(12, body.at("/usage/completion_tokens").asInt());
  }
}
