package dev.sparkgpt.jobs;

import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.io.Progress;
import dev.sparkgpt.SparkGptException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/** What every job's {@code main} shares: argument parsing, the Spark session, and turning errors into messages. */
public final class Jobs {
  private Jobs() {}

  /** Parses {@code args} into {@code command}, runs it, and returns the exit code (errors print one message). */
  public static int execute(Callable<Integer> command, String[] args) {
    Progress.shareTerminal();
    CommandLine cli = commandLine(command);
    return cli.execute(args);
  }

  /** A picocli command line with SparkGPT's error handling: a SparkGptException prints its message, no trace. */
  public static CommandLine commandLine(Object command) {
    CommandLine cli = new CommandLine(command);
    cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      SparkGptException known = explain(ex);
      PrintWriter err = commandLine.getErr();
      boolean verbose = verbose(parseResult);
      if (known != null) {
        err.println("error: " + known.getMessage());
        if (verbose) {
          ex.printStackTrace(err);
        }
        err.flush();
        return 2;
      }
      String memory = memoryAdvice(ex);
      if (memory != null) {
        err.println("error: " + memory);
        if (verbose) {
          ex.printStackTrace(err);
        }
        err.flush();
        return 3;
      }
      err.println("error: " + ex);
      ex.printStackTrace(err);
      err.flush();
      return 1;
    });
    return cli;
  }

  /**
   * Whether --verbose was given to the command or any verb on the way to it: picocli hands the handler the root's
   * parse result, and a verb's own options are only in its subcommand's.
   */
  static boolean verbose(CommandLine.ParseResult parseResult) {
    for (CommandLine.ParseResult r = parseResult; r != null; r = r.subcommand()) {
      if (r.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Advice for running out of memory, or null: ND4J's off-heap arrays are bounded by JavaCPP's maxbytes /
   * maxphysicalbytes (its OutOfMemoryError says "Cannot allocate ... Physical bytes"), the heap by -Xmx.
   */
  static String memoryAdvice(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof OutOfMemoryError oom) {
        String m = String.valueOf(oom.getMessage());
        if (m.contains("Cannot allocate") || m.contains("Physical bytes") || m.contains("maxbytes")) {
          return "ND4J ran out of off-heap memory (" + m.lines().findFirst().orElse(m) + "). Fix: raise "
              + "SPARKGPT_OFFHEAP (bin/sparkgpt, default 8G; it sets -Dorg.bytedeco.javacpp.maxbytes and "
              + "maxphysicalbytes) or, on a cluster, spark.executor.memoryOverhead and those -D options in "
              + "spark.executor.extraJavaOptions; or lower train.micro_batch_size / model.context_length";
        }
        return "the JVM heap is full (" + m + "). Fix: raise SPARKGPT_HEAP (bin/sparkgpt, default 4g) or "
            + "spark.driver.memory / spark.executor.memory; or lower train.micro_batch_size (training) or split_mb "
            + "(tokenize: the text one task encodes)";
      }
    }
    return null;
  }

  /** The error to print for {@code t}: a missing file system connector, else the SparkGPT error inside, else null. */
  public static SparkGptException explain(Throwable t) {
    SparkGptException missingFileSystem = dev.sparkgpt.io.MissingFileSystem.find(t);
    return missingFileSystem != null ? missingFileSystem : findKnown(t);
  }

  /** The SparkGPT error inside {@code t}'s cause chain (Spark wraps executor failures), or null. */
  public static SparkGptException findKnown(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SparkGptException s) {
        return s;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }

  /** For --dry-run: prints the resolved config and one line saying what was checked; exit code 0. */
  public static int dryRun(Object config, String checked) {
    System.out.print(dev.sparkgpt.config.ConfigLoader.toYaml(config));
    System.out.println("dry run: " + checked + "; nothing written");
    return 0;
  }

  /**
   * Runs {@code body} with a session named {@code appName} (none when {@code needed} is false: body gets null),
   * turns Spark failures into the SparkGPT error inside them, and always stops the session.
   */
  public static <T> T withSession(String appName, boolean needed, java.util.function.Function<SparkSession, T> body) {
    SparkSession spark = needed ? session(appName) : null;
    try {
      return body.apply(spark);
    } catch (Exception e) {
      throw unwrap(e);
    } finally {
      if (spark != null) {
        spark.stop();
      }
    }
  }

  /**
   * The Spark session of a job. Under spark-submit the master comes from it; run from the CLI (no spark.master
   * set) it is local[*] with the UI off. Kryo serialises what crosses the network.
   */
  public static SparkSession session(String appName) {
    SparkConf conf = new SparkConf(true);
    SparkSession.Builder builder = SparkSession.builder().appName(appName);
    if (!conf.contains("spark.master")) {
      builder.master("local[*]").config("spark.ui.enabled", "false");
    }
    if (conf.get("spark.master", "local").startsWith("local")) {
      // one JVM: its executor writes local files without .crc side files too, as outside Spark; on a cluster the
      // executors keep Hadoop's own local file system (a spark.hadoop.* class of ours would have to load before
      // the application jar does)
      HadoopConf.LOCAL_FILES.forEach((key, value) -> builder.config(HadoopConf.SPARK_PREFIX + key, value));
    }
    SparkSession session = builder
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config(dev.sparkgpt.io.KryoSetup.CONF_KEY, dev.sparkgpt.io.KryoSetup.class.getName())
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.sql.sources.commitProtocolClass",
            "org.apache.spark.sql.execution.datasources.SQLHadoopMapReduceCommitProtocol")
        .getOrCreate();
    // the driver's own writes (metrics, checkpoints, manifests on local paths): as outside Spark
    HadoopConf.useLocalFilesWithoutCrc(session.sparkContext().hadoopConfiguration());
    return session;
  }

  /**
   * The SparkGptException hidden in a Spark failure (so users see the file and the fix), else {@code e} itself;
   * checked exceptions (Spark's SparkException is one, thrown unchecked from Scala) are wrapped.
   */
  public static RuntimeException unwrap(Exception e) {
    SparkGptException known = findKnown(e);
    if (known != null) {
      return known;
    }
    return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
  }
}
