package dev.sparkgpt.cli;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.TokenizeConfig;
import dev.sparkgpt.data.Manifest;
import dev.sparkgpt.jobs.Jobs;
import dev.sparkgpt.jobs.TokenizeJob;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparkgpt demo}: the quick-start pipeline on the bundled Tiny Shakespeare, in Spark local mode. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on bundled data (Spark local mode) and print where everything went.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/demo",
      description = "Where the demo writes (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--quick", description = "A smaller, faster run (used by the end-to-end test).")
  boolean quick;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  /** The repository root: -Dsparkgpt.home (set by bin/sparkgpt), else the current directory. */
  static Path home() {
    return Path.of(System.getProperty("sparkgpt.home", "."));
  }

  @Override
  public Integer call() {
    Path conf = home().resolve("conf/tokenize/tiny-shakespeare.yaml");
    Path shards = out.resolve("shards");
    SparkSession spark = Jobs.session("sparkgpt-demo");
    try {
      System.out.println("== 1/1 tokenize: Tiny Shakespeare -> " + shards);
      TokenizeConfig config = ConfigLoader.load(TokenizeConfig.class, TokenizeConfig.defaults(), conf,
          quick ? List.of("seq_len=64") : List.of(),
          Map.of("input", List.of(home().resolve("src/main/resources/data/corpora/tinyshakespeare.txt").toString()),
              "output", shards.toString(), "overwrite", true), null);
      Manifest manifest = TokenizeJob.run(spark, config, System.out);
      System.out.printf("demo: done. Shards: %s (%,d train / %,d val tokens). Look inside with:%n"
              + "  bin/sparkgpt shards inspect %s --rows 1%n", shards, manifest.splits().get("train").tokens(),
          manifest.splits().get("val").tokens(), shards);
      return 0;
    } catch (Exception e) {
      throw Jobs.unwrap(e);
    } finally {
      spark.stop();
    }
  }
}
