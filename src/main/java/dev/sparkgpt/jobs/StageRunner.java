package dev.sparkgpt.jobs;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.io.OutputException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Runs a chain of job stages in order (tokenize → pretrain → [finetune] → eval → report), skipping a stage whose
 * output is already complete, so a re-run does only what is missing. Once a stage runs, every later one runs too:
 * its output was made from the old inputs, so it is removed first. A stage that crashed has no marker and runs
 * again; pretrain then resumes from its latest checkpoint. A finished stage keeps the resolved config it ran with
 * beside its marker ({@code _STAGE_<name>.yaml}); when the config now differs, the stage runs again (the console
 * names the keys that changed), so editing the pipeline YAML never leaves an output of the old settings in place.
 */
public final class StageRunner {
  private StageRunner() {}

  /**
   * One stage.
   *
   * @param name short name printed and returned (tokenize, pretrain, ...)
   * @param describe what it does, for the console ("Tiny Shakespeare -> runs/demo/shards")
   * @param done the file whose presence means the stage finished (its job's _SUCCESS, report.json, ...)
   * @param stale what to remove before re-running because an earlier stage ran (its output), or null
   * @param writeMarker true: the runner writes {@code done} (an empty _SUCCESS) after the work; false: the job does
   * @param config the stage's resolved job config (kept beside {@code done}; a change re-runs the stage), or null
   * @param work the job; returns what it produced (kept in the results)
   */
  public record Stage(String name, String describe, String done, String stale, boolean writeMarker, Object config,
      Supplier<Object> work) {
    /** Where the config the stage last finished with is kept: beside its done file. */
    String configFile() {
      return new Path(done).getParent() + "/_STAGE_" + name + ".yaml";
    }
  }

  /** What a run did: the stages that ran, in order, and what each returned. */
  public record Ran(List<String> stages, Map<String, Object> results) {}

  /** Runs {@code stages} in order; {@code force} runs every stage even when complete (its output replaced). */
  public static Ran run(List<Stage> stages, boolean force, Configuration conf, PrintStream console) {
    List<String> ran = new ArrayList<>();
    Map<String, Object> results = new LinkedHashMap<>();
    List<Boolean> plan = plan(stages, force, conf);
    boolean upstreamRan = force;
    for (int i = 0; i < stages.size(); i++) {
      Stage stage = stages.get(i);
      String header = String.format("== %d/%d %s: %s", i + 1, stages.size(), stage.name(), stage.describe());
      if (!plan.get(i)) {
        console.println(header + " — already complete (" + stage.done() + "), skipped");
        continue;
      }
      console.println(header);
      List<String> changed = upstreamRan ? List.of() : changedKeys(stage, conf);
      if (!changed.isEmpty() && stage.writeMarker()) {   // a training stage resumes: its checkpoints are kept
        console.println("   its config changed since it finished (" + String.join(", ", changed) + "): running it "
            + "again, from its latest checkpoint (remove " + stage.stale() + " to start it over)");
      } else if (!changed.isEmpty()) {
        console.println("   its config changed since it finished (" + String.join(", ", changed) + "): "
            + (stage.stale() != null && delete(stage.stale(), conf) ? "removed " + stage.stale() + ", " : "")
            + "running it again");
      }
      if (upstreamRan && stage.stale() != null && delete(stage.stale(), conf)) {
        console.println("   removed " + stage.stale() + ": it was made from the previous output of an earlier stage");
      }
      if (stage.writeMarker()) {
        delete(stage.done(), conf); // our marker says "finished" only once this run has finished
      }
      results.put(stage.name(), stage.work().get());
      if (stage.writeMarker()) {
        touch(stage.done(), conf);
      }
      if (stage.config() != null) {
        writeConfig(stage, conf);
      }
      ran.add(stage.name());
      upstreamRan = true;
    }
    return new Ran(List.copyOf(ran), results);
  }

  /**
   * Which of {@code stages} a run would run, in order: a stage whose done file exists (and whose kept config equals
   * its config now) is skipped until one before it runs; from then on every stage runs ({@code force}: all of them).
   * Only reads the file system.
   */
  public static List<Boolean> plan(List<Stage> stages, boolean force, Configuration conf) {
    List<Boolean> runs = new ArrayList<>();
    boolean upstreamRan = force;
    for (Stage stage : stages) {
      boolean run = upstreamRan || !exists(stage.done(), conf) || !changedKeys(stage, conf).isEmpty();
      runs.add(run);
      upstreamRan |= run;
    }
    return runs;
  }

  /** Whether {@code path} exists (any Hadoop path). */
  public static boolean exists(String path, Configuration conf) {
    Path p = new Path(path);
    try {
      return p.getFileSystem(conf).exists(p);
    } catch (IOException e) {
      throw new OutputException(path + ": cannot check whether the stage finished: " + e.getMessage()
          + ". Fix: check the path and the file system", e);
    }
  }

  /**
   * The dotted keys whose value in the config {@code stage} last finished with differs from its config now (at most
   * 6 named, then a count); empty when equal, when the stage has no config, or when none was kept (an output from
   * before configs were kept, or written by the job alone: taken as complete).
   */
  static List<String> changedKeys(Stage stage, Configuration conf) {
    if (stage.config() == null || !exists(stage.configFile(), conf)) {
      return List.of();
    }
    Map<String, String> before = new java.util.TreeMap<>();
    Map<String, String> now = new java.util.TreeMap<>();
    flatten("", ConfigLoader.readYaml(read(stage.configFile(), conf), stage.configFile()), before);
    flatten("", ConfigLoader.readYaml(ConfigLoader.toYaml(stage.config()), stage.name() + " config"), now);
    java.util.Set<String> keys = new java.util.TreeSet<>(before.keySet());
    keys.addAll(now.keySet());
    List<String> changed = new ArrayList<>();
    for (String key : keys) {
      if (!java.util.Objects.equals(before.get(key), now.get(key))) {
        changed.add(key);
      }
    }
    return changed.size() <= 6 ? changed : List.of(String.join(", ", changed.subList(0, 6)) + " and "
        + (changed.size() - 6) + " more");
  }

  private static void flatten(String prefix, com.fasterxml.jackson.databind.JsonNode node, Map<String, String> into) {
    if (node.isObject()) {
      node.fields().forEachRemaining(e -> flatten(prefix + e.getKey() + ".", e.getValue(), into));
    } else {
      into.put(prefix.substring(0, Math.max(0, prefix.length() - 1)), node.toString());
    }
  }

  private static String read(String path, Configuration conf) {
    Path p = new Path(path);
    try (java.io.InputStream in = p.getFileSystem(conf).open(p)) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new OutputException(path + ": cannot read the config the stage ran with: " + e.getMessage()
          + ". Fix: check permissions, or remove the file (the stage then counts as complete)", e);
    }
  }

  private static void writeConfig(Stage stage, Configuration conf) {
    Path p = new Path(stage.configFile());
    try (java.io.OutputStream out = p.getFileSystem(conf).create(p, true)) {
      out.write(ConfigLoader.toYaml(stage.config()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new OutputException(p + ": cannot keep the config the stage ran with: " + e.getMessage()
          + ". Fix: check free space and permissions, then re-run", e);
    }
  }

  private static boolean delete(String path, Configuration conf) {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(conf);
      return fs.exists(p) && fs.delete(p, true);
    } catch (IOException e) {
      throw new OutputException(path + ": cannot remove the stale output: " + e.getMessage()
          + ". Fix: check permissions, or remove it yourself", e);
    }
  }

  private static void touch(String path, Configuration conf) {
    Path p = new Path(path);
    try {
      p.getFileSystem(conf).create(p, true).close();
    } catch (IOException e) {
      throw new OutputException(path + ": cannot mark the stage finished: " + e.getMessage()
          + ". Fix: check free space and permissions, then re-run (the stage resumes)", e);
    }
  }
}
