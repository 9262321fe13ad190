package dev.sparkgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a reference script of bench/python in the same invocation as the benchmark (so a ratio compares two runs on
 * one machine at one moment) and reads the one JSON line it prints. When python3 or the script's library is
 * missing, says so and returns null: the benchmark then prints absolute figures only, never a stale constant.
 */
final class PythonReference {
  /** The interpreter: $PYTHON (e.g. /usr/bin/python3 where Debian's python3-torch lives), else python3. */
  static final String PYTHON = System.getenv().getOrDefault("PYTHON", "python3");

  private PythonReference() {}

  /** Whether {@code python3 -c "import MODULE"} works here. */
  static boolean available(String module) {
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", "import " + module).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The JSON printed by {@code $PYTHON bench/python/SCRIPT ARGS} on {@code threads} BLAS threads, or null (with the
   * reason printed) when it did not run.
   */
  static JsonNode run(String script, int threads, Object... args) {
    List<String> command = new ArrayList<>(List.of(PYTHON, "bench/python/" + script));
    for (Object a : args) {
      command.add(String.valueOf(a));
    }
    try {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
      pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
      pb.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
      Process p = pb.start();
      byte[] err = p.getErrorStream().readAllBytes();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor() != 0 || out.isEmpty()) {
        String why = new String(err, StandardCharsets.UTF_8).trim();
        System.out.println("reference " + script + " did not run: "
            + (why.isEmpty() ? "exit " + p.exitValue() : why.substring(Math.max(0, why.length() - 300))));
        return null;
      }
      return new ObjectMapper().readTree(out.substring(out.lastIndexOf('\n') + 1));
    } catch (IOException e) {
      System.out.println("reference " + script + " did not run: " + e.getMessage());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
