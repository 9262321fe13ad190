package dev.sparkgpt.jobs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every job shares: a YAML config, key=value overrides, dry run and verbosity. */
public final class JobOptions {
  @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML config (keys as in conf/).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one config key, e.g. --set seq_len=128 (repeatable).")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--dry-run", description = "Validate the config and paths, print the resolved config, run nothing.")
  boolean dryRun;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  /** The YAML file, or null. */
  public Path config() {
    return config;
  }

  /** Overrides from --set, followed by those a job adds from its own flags (flags win). */
  public List<String> overrides(List<String> fromFlags) {
    List<String> all = new ArrayList<>(overrides);
    all.addAll(fromFlags);
    return all;
  }

  /**
   * A job's config: {@code defaults}, then the --config YAML, the --set overrides, then the job's own flags
   * ({@code flags}: config key → value, null = not given); each override is echoed to stderr.
   */
  public <T> T resolve(Class<T> type, T defaults, Map<String, Object> flags) {
    return dev.sparkgpt.config.ConfigLoader.load(type, defaults, config, overrides, flags,
        line -> System.err.println(line));
  }

  public boolean dryRun() {
    return dryRun;
  }

  public boolean verbose() {
    return verbose;
  }
}
