package dev.sparkgpt.model;

import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.checkpoint.Checkpoint;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.io.SafetensorsReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Llama parity against reference logits computed here, independently of the model code.
 *
 * <p>How the reference is computed ({@link Reference}): a plain float64 Llama forward pass over {@code double[]}
 * loops (no ND4J, no production class except the safetensors reader that hands over the raw HF tensors; config.json
 * is read with Jackson directly). It shares no convention with our RoPE: Hugging Face stores q_proj/k_proj rows
 * permuted so that rotate_half pairs dimension i with i + D/2 (what our {@code RotaryEmbedding} applies); the
 * reference first undoes that permutation — the inverse of {@code permute} in transformers'
 * convert_llama_weights_to_hf.py, which maps Meta's row h·D + 2i + j to HF's row h·D + j·D/2 + i — and then rotates
 * in Meta's original interleaved convention, the pairs (2i, 2i+1) as complex numbers times e^{i·t·θ^(-2i/D)}.
 * Everything else is the textbook Llama: RMSNorm (x / √(mean x² + ε) · w), causal softmax attention scaled by 1/√D
 * where query head h reads key/value head h / (H / K), o_proj, SwiGLU down(silu(gate x) ⊙ up x), residuals, final
 * RMSNorm, untied lm_head.
 *
 * <p>Checked: the reference reproduces the fixture's {@code reference-logits.safetensors} (computed elsewhere in
 * float64 and stored as F32, so "equal" means within one float32 ulp of each stored logit: 1e-9 is not representable
 * there); our model's float32 logits are within 1e-4 of it, at the fixture's θ = 10000 and at θ = 500000 (Llama 3's
 * base); and skipping the un-permutation breaks the match, so the test would see a convention mix-up.
 */
class LlamaFloat64ReferenceTest {
  private static final Path DIR = HfFixtures.LLAMA;
  private static int[] tokens;
  private static float[] stored;

  @BeforeAll
  static void readFixtureReference() {
    OneThread.pin();
    tokens = HfFixtures.referenceTokens(DIR);
    try (SafetensorsReader r = SafetensorsReader.open(DIR.resolve("reference-logits.safetensors"))) {
      stored = r.readFloats("logits");
    }
  }

  @Test
  void theIndependentForwardReproducesTheFixturesReferenceLogits() throws Exception {
    double[][] logits = new Reference(DIR, true).logits(tokens);
    double worst = 0;
    for (int t = 0; t < tokens.length; t++) {
      for (int v = 0; v < logits[t].length; v++) {
        float ref = stored[t * logits[t].length + v];
        double error = Math.abs(logits[t][v] - ref);
        assertTrue(error <= Math.ulp(ref), "position " + t + ", id " + v + ": " + logits[t][v] + " vs stored " + ref);
        worst = Math.max(worst, error);
      }
    }
    assertTrue(worst < 1e-6, "max |float64 reference - stored F32 reference| = " + worst);
  }

  @Test
  void ourLogitsMatchTheIndependentForward() throws Exception {
    double worst = maxDifference(ourLogits(DIR), new Reference(DIR, true).logits(tokens));
    assertTrue(worst < 1e-4, "max |ours - float64 reference| = " + worst);
  }

  @Test
  void atRopeTheta500000OurLogitsStillMatchAndDifferFromTheta10000(@TempDir Path dir) throws Exception {
    ObjectMapper json = new ObjectMapper();
    ObjectNode config = (ObjectNode) json.readTree(DIR.resolve("config.json").toFile());
    config.put("rope_theta", 500000.0);
    Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));
    Files.copy(DIR.resolve("model.safetensors"), dir.resolve("model.safetensors"));

    double[][] reference = new Reference(dir, true).logits(tokens);
    double worst = maxDifference(ourLogits(dir), reference);
    assertTrue(worst < 1e-4, "θ = 500000: max |ours - float64 reference| = " + worst);
    double moved = maxDifference(reference, new Reference(DIR, true).logits(tokens));
    assertTrue(moved > 1e-2, "θ changes the logits: max difference " + moved);
  }

  @Test
  void withoutUndoingTheHfPermutationTheInterleavedRopeDoesNotMatch() throws Exception {
    double wrong = maxDifference(new Reference(DIR, false).logits(tokens), new Reference(DIR, true).logits(tokens));
    assertTrue(wrong > 1e-2, "max difference when q/k rows stay in HF order: " + wrong);
  }

  private static double[][] ourLogits(Path dir) {
    GptModel model = Checkpoint.open(dir.toString()).model();
    INDArray logits = model.logits(new int[][] {tokens}).reshape(tokens.length, model.config().vocabSize())
        .castTo(DataType.DOUBLE);
    return logits.toDoubleMatrix();
  }

  private static double maxDifference(double[][] a, double[][] b) {
    double worst = 0;
    for (int t = 0; t < a.length; t++) {
      for (int v = 0; v < a[t].length; v++) {
        worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
      }
    }
    return worst;
  }

  /** The float64 Llama of one HF directory (class comment); {@code unpermute} false is the negative control. */
  private static final class Reference {
    private final SafetensorsReader reader;
    private final int width;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int hidden;
    private final int layers;
    private final int vocab;
    private final double eps;
    private final double theta;
    private final boolean unpermute;

    Reference(Path dir, boolean unpermute) throws Exception {
      JsonNode c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
      width = c.get("hidden_size").asInt();
      heads = c.get("num_attention_heads").asInt();
      kvHeads = c.get("num_key_value_heads").asInt();
      headDim = width / heads;
      hidden = c.get("intermediate_size").asInt();
      layers = c.get("num_hidden_layers").asInt();
      vocab = c.get("vocab_size").asInt();
      eps = c.get("rms_norm_eps").asDouble();
      theta = c.get("rope_theta").asDouble();
      this.unpermute = unpermute;
      reader = SafetensorsReader.open(dir);
    }

    double[][] logits(int[] ids) {
      try (reader) {
        int time = ids.length;
        double[] embedding = reader.readDoubles("model.embed_tokens.weight");
        double[][] x = new double[time][];
        for (int t = 0; t < time; t++) {
          x[t] = java.util.Arrays.copyOfRange(embedding, ids[t] * width, (ids[t] + 1) * width);
        }
        for (int l = 0; l < layers; l++) {
          String p = "model.layers." + l + ".";
          add(x, attention(rmsNorm(x, reader.readDoubles(p + "input_layernorm.weight")), p));
          add(x, swiGlu(rmsNorm(x, reader.readDoubles(p + "post_attention_layernorm.weight")), p));
        }
        return linear(rmsNorm(x, reader.readDoubles("model.norm.weight")), reader.readDoubles("lm_head.weight"), vocab);
      }
    }

    private double[][] attention(double[][] h, String p) {
      int time = h.length;
      double[][] q = linear(h, metaOrder(reader.readDoubles(p + "self_attn.q_proj.weight"), heads), heads * headDim);
      double[][] k = linear(h, metaOrder(reader.readDoubles(p + "self_attn.k_proj.weight"), kvHeads),
          kvHeads * headDim);
      double[][] v = linear(h, reader.readDoubles(p + "self_attn.v_proj.weight"), kvHeads * headDim);
      for (int t = 0; t < time; t++) {
        rotateInterleaved(q[t], heads, t);
        rotateInterleaved(k[t], kvHeads, t);
      }
      double[][] out = new double[time][heads * headDim];
      int perGroup = heads / kvHeads;
      for (int head = 0; head < heads; head++) {
        int kv = head / perGroup;
        for (int t = 0; t < time; t++) {
          double[] scores = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int s = 0; s <= t; s++) {
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
              dot += q[t][head * headDim + d] * k[s][kv * headDim + d];
            }
            scores[s] = dot / Math.sqrt(headDim);
            max = Math.max(max, scores[s]);
          }
          double sum = 0;
          for (int s = 0; s <= t; s++) {
            scores[s] = Math.exp(scores[s] - max);
            sum += scores[s];
          }
          for (int s = 0; s <= t; s++) {
            for (int d = 0; d < headDim; d++) {
              out[t][head * headDim + d] += scores[s] / sum * v[s][kv * headDim + d];
            }
          }
        }
      }
      return linear(out, reader.readDoubles(p + "self_attn.o_proj.weight"), width);
    }

    private double[][] swiGlu(double[][] h, String p) {
      double[][] gate = linear(h, reader.readDoubles(p + "mlp.gate_proj.weight"), hidden);
      double[][] up = linear(h, reader.readDoubles(p + "mlp.up_proj.weight"), hidden);
      for (int t = 0; t < h.length; t++) {
        for (int j = 0; j < hidden; j++) {
          double g = gate[t][j];
          gate[t][j] = g / (1 + Math.exp(-g)) * up[t][j];
        }
      }
      return linear(gate, reader.readDoubles(p + "mlp.down_proj.weight"), width);
    }

    /** HF q/k rows [n·D, C] back in Meta's order: Meta row h·D + 2i + j is HF row h·D + j·D/2 + i. */
    private double[] metaOrder(double[] hf, int n) {
      if (!unpermute) {
        return hf;
      }
      double[] meta = new double[hf.length];
      for (int h = 0; h < n; h++) {
        for (int i = 0; i < headDim / 2; i++) {
          for (int j = 0; j < 2; j++) {
            System.arraycopy(hf, (h * headDim + j * headDim / 2 + i) * width, meta, (h * headDim + 2 * i + j) * width,
                width);
          }
        }
      }
      return meta;
    }

    /** Meta's RoPE: in each head, (x_2i + i·x_2i+1) · e^{i·t·θ^(-2i/D)}. */
    private void rotateInterleaved(double[] x, int n, int t) {
      for (int h = 0; h < n; h++) {
        for (int i = 0; i < headDim / 2; i++) {
          double angle = t * Math.pow(theta, -2.0 * i / headDim);
          int at = h * headDim + 2 * i;
          double re = x[at];
          double im = x[at + 1];
          x[at] = re * Math.cos(angle) - im * Math.sin(angle);
          x[at + 1] = re * Math.sin(angle) + im * Math.cos(angle);
        }
      }
    }

    private double[][] rmsNorm(double[][] x, double[] weight) {
      double[][] y = new double[x.length][width];
      for (int t = 0; t < x.length; t++) {
        double squares = 0;
        for (double value : x[t]) {
          squares += value * value;
        }
        double scale = 1 / Math.sqrt(squares / width + eps);
        for (int c = 0; c < width; c++) {
          y[t][c] = x[t][c] * scale * weight[c];
        }
      }
      return y;
    }

    /** x [T, in] times torch's weight [out, in] transposed: [T, out]. */
    private static double[][] linear(double[][] x, double[] weight, int out) {
      int in = x[0].length;
      double[][] y = new double[x.length][out];
      for (int t = 0; t < x.length; t++) {
        for (int o = 0; o < out; o++) {
          double sum = 0;
          for (int c = 0; c < in; c++) {
            sum += weight[o * in + c] * x[t][c];
          }
          y[t][o] = sum;
        }
      }
      return y;
    }

    private static void add(double[][] x, double[][] delta) {
      for (int t = 0; t < x.length; t++) {
        for (int c = 0; c < x[t].length; c++) {
          x[t][c] += delta[t][c];
        }
      }
    }
  }
}
