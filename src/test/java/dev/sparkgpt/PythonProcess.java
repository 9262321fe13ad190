package dev.sparkgpt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the repository's Python scripts from tests: $PYTHON (else python3), from the repository root. */
public final class PythonProcess {
  /** Exit code (-1: could not start or timed out) and stdout + stderr together. */
  public record Result(int exitCode, String output) {}

  private PythonProcess() {}

  /** The interpreter: $PYTHON, where CI puts the one with pandas, else python3. */
  public static String python() {
    return System.getenv().getOrDefault("PYTHON", "python3");
  }

  /** Whether {@link #python()} runs and imports {@code modules} (e.g. "pandas, matplotlib"). */
  public static boolean imports(String modules, Path scratch) throws InterruptedException {
    return run(List.of(python(), "-c", "import " + modules), scratch, Map.of()).exitCode() == 0;
  }

  /** Runs {@code command} with {@code env} added; its output goes through a log file in {@code scratch}. */
  public static Result run(List<String> command, Path scratch, Map<String, String> env) throws InterruptedException {
    Path log = scratch.resolve("python-" + System.nanoTime() + ".log");
    try {
      ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).directory(Path.of("").toAbsolutePath().toFile())
          .redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out");
      }
      return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return new Result(-1, e.getMessage()); // no such interpreter
    }
  }
}
