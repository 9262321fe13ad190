package dev.sparkgpt.bench;

import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.config.ModelConfigs;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.KvDecoder;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Decode speed of gpt2-124m-shaped random weights on one thread: 64 new tokens after an 8-token prompt with and
 * without the key/value cache, beside a NumPy eager baseline and (when python3 has torch) a PyTorch-eager reference of
 * the same decode run in this invocation (bench/python/decode_torch_reference.py), per-token time with the cache at token 20 vs token 200 (goal ≤ 1.5×), and one step at 256 tokens with vs without.
 * Usage: OMP_NUM_THREADS=1 bench/run DecodeBench [new_tokens (default 64)] [rounds (default 3)]
 */
public final class DecodeBench {
  private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
  private DecodeBench() {}

  public static void main(String[] args) {
    int newTokens = args.length > 0 ? Integer.parseInt(args[0]) : 64;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
    Nd4j.factory().blas().setMaxThreads(1);
    ModelConfig config = ModelConfigs.resolve("gpt2-124m", Map.of("drop_rate", 0.0));
    GptModel model = GptModel.initialize(config, DataType.FLOAT, 1);
    System.out.printf("gpt2-124m shapes (%,d parameters), context %d, 1 thread, OPENBLAS_CORETYPE=%s%n",
        config.parameterCount(), config.contextLength(), System.getenv("OPENBLAS_CORETYPE"));
    int[] prompt = new Random(1).ints(8, 0, config.vocabSize()).toArray();

    // warm-up of both paths
    decodeCached(model, prompt, 8);
    decodeStateless(model, prompt, 4);

    // Best of several rounds, each beside a run of the NumPy eager baseline (bench/python/decode_reference.py: the
    // same shapes and work, one BLAS call per projection) so the ratio holds on a loaded machine.
    // wall-clock and CPU-time speeds: [plain, cached] each; CPU time (one thread) leaves out waiting for a core
    double[] wall = {0, 0};
    double[] cpu = {0, 0};
    double[] refWall = {0, 0};
    double[] refCpu = {0, 0};
    for (int round = 0; round < rounds; round++) {
      double[] r = reference(newTokens);
      if (r != null) {
        for (int i = 0; i < 2; i++) {
          refWall[i] = Math.max(refWall[i], r[i]);
          refCpu[i] = Math.max(refCpu[i], r[2 + i]);
        }
      }
      for (int i = 0; i < 2; i++) {
        long w = System.nanoTime();
        long c = CPU.getCurrentThreadCpuTime();
        if (i == 0) {
          decodeStateless(model, prompt, newTokens);
        } else {
          decodeCached(model, prompt, newTokens);
        }
        cpu[i] = Math.max(cpu[i], newTokens / ((CPU.getCurrentThreadCpuTime() - c) / 1e9));
        wall[i] = Math.max(wall[i], newTokens / ((System.nanoTime() - w) / 1e9));
      }
    }
    System.out.printf("%d new tokens after 8 (best of %d), tok/s per wall second: with cache %.1f, without %.1f; per "
        + "CPU second: %.1f and %.1f%n", newTokens, rounds, wall[1], wall[0], cpu[1], cpu[0]);
    if (refCpu[0] > 0) {
      System.out.printf("NumPy eager baseline, same run: with cache %.1f, without %.1f (wall); %.1f and %.1f (CPU)%n",
          refWall[1], refWall[0], refCpu[1], refCpu[0]);
      System.out.printf("ours / NumPy: with cache %.2fx, without %.2fx (wall); %.2fx and %.2fx (CPU)%n",
          wall[1] / refWall[1], wall[0] / refWall[0], cpu[1] / refCpu[1], cpu[0] / refCpu[0]);
    } else {
      System.out.println("NumPy eager baseline not run (needs python3 with numpy)");
    }
    if (PythonReference.available("torch")) {
      com.fasterxml.jackson.databind.JsonNode torch = PythonReference.run("decode_torch_reference.py", 1, newTokens);
      if (torch != null) {
        double cached = torch.get("cached_tok_s").asDouble();
        double plain = torch.get("plain_tok_s").asDouble();
        System.out.printf("PyTorch %s eager, same run, 1 thread: with cache %.1f, without %.1f tok/s -> ours / "
            + "PyTorch: %.2fx and %.2fx (wall)%n", torch.get("torch").asText(), cached, plain, wall[1] / cached,
            wall[0] / plain);
      }
    } else {
      System.out.println("no PyTorch reference ran (python3 with torch not importable): NumPy baseline only");
    }

    // per-token time along a 256-token sequence with the cache
    KvDecoder decoder = model.decoder();
    decoder.append(prompt);
    double[] ms = new double[256];
    int id = 0;
    for (int t = 8; t < 256; t++) {
      long s = System.nanoTime();
      float[] logits = decoder.append(new int[] {id});
      ms[t] = (System.nanoTime() - s) / 1e6;
      id = argmax(logits);
    }
    double at20 = mean(ms, 15, 25);
    double at200 = mean(ms, 195, 205);
    System.out.printf("with cache: token 20 %.1f ms, token 200 %.1f ms (ratio %.2f, goal <= 1.5)%n", at20, at200,
        at200 / at20);
    int[] context = new Random(2).ints(255, 0, config.vocabSize()).toArray();
    long s = System.nanoTime();
    model.nextLogits(context);
    double stateless256 = (System.nanoTime() - s) / 1e6;
    System.out.printf("at 256 tokens: one step without cache %.0f ms, with %.1f ms: %.1fx faster%n", stateless256,
        ms[255], stateless256 / ms[255]);
  }

  /** {plain, cached} tok/s per wall second, then per CPU second, of the NumPy baseline on one thread, or null without python3/numpy. */
  private static double[] reference(int newTokens) {
    try {
      ProcessBuilder pb = new ProcessBuilder(PythonReference.PYTHON, "bench/python/decode_reference.py", Integer.toString(newTokens))
          .redirectError(ProcessBuilder.Redirect.DISCARD);
      pb.environment().put("OMP_NUM_THREADS", "1");
      pb.environment().put("OPENBLAS_NUM_THREADS", "1");
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        return null;
      }
      com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out);
      return new double[] {json.get("plain_tok_s").asDouble(), json.get("cached_tok_s").asDouble(),
          json.get("plain_cpu_tok_s").asDouble(), json.get("cached_cpu_tok_s").asDouble()};
    } catch (java.io.IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static void decodeCached(GptModel model, int[] prompt, int n) {
    KvDecoder decoder = model.decoder();
    float[] logits = decoder.append(prompt);
    for (int i = 0; i < n; i++) {
      logits = decoder.append(new int[] {argmax(logits)});
    }
  }

  private static void decodeStateless(GptModel model, int[] prompt, int n) {
    int[] context = Arrays.copyOf(prompt, prompt.length + n);
    int length = prompt.length;
    for (int i = 0; i < n; i++) {
      context[length] = argmax(model.nextLogits(Arrays.copyOf(context, length)));
      length++;
    }
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      best = v[i] > v[best] ? i : best;
    }
    return best;
  }

  private static double mean(double[] v, int from, int to) {
    double sum = 0;
    for (int i = from; i <= to; i++) {
      sum += v[i];
    }
    return sum / (to - from + 1);
  }
}
