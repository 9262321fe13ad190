package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MainTest {
  private static void setErr(CommandLine cli, PrintWriter err) {
    cli.setErr(err);
    cli.getSubcommands().values().forEach(c -> setErr(c, err));
  }

  /**
   * Runs the CLI in-process with {@code stdin}; returns {exit code, stdout, the CLI's error stream (errors), what the
   * command printed to System.err itself (warnings, progress)}.
   */
  static String[] run(String stdin, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    InputStream oldIn = System.in;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
      System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
      CommandLine cli = Main.commandLine();
      setErr(cli, new PrintWriter(err, true));
      int code = cli.execute(args);
      return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString(),
          stderr.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
      System.setIn(oldIn);
    }
  }

  /**
   * A Hugging Face checkpoint as a user would hand it to other tools: {@code hf} converted to a SparkGPT run under
   * {@code dir} and exported back with {@code convert sparkgpt-to-hf} (tokenizer files included when the checkpoint
   * records a tokenizer). Returns the exported directory.
   */
  static Path exportedThroughSparkGpt(Path hf, Path dir) {
    Path run = dir.resolve(hf.getFileName() + "-run");
    Path out = dir.resolve(hf.getFileName() + "-hf");
    String[] in = run("", "convert", "hf-to-sparkgpt", "--from", hf.toString(), "--to", run.toString());
    assertEquals("0", in[0], String.join("\n", in));
    String[] back = run("", "convert", "sparkgpt-to-hf", "--from", run.toString(), "--to", out.toString());
    assertEquals("0", back[0], String.join("\n", back));
    return out;
  }

  @Test
  void verbTableHelpAndReadmeAgree() throws Exception {
    Set<String> table = Main.VERBS.keySet();
    assertEquals(table, Main.commandLine().getSubcommands().keySet());
    String help = run("", "--help")[1];
    for (String verb : table) {
      assertTrue(Pattern.compile("^\\s+" + Pattern.quote(verb) + "\\s", Pattern.MULTILINE).matcher(help).find(),
          "--help lists " + verb);
    }
    String readme = Files.readString(Path.of("README.md"));
    String commands = readme.substring(readme.indexOf("| verb |"), readme.indexOf("Examples:"));
    Matcher m = Pattern.compile("^\\| `([a-z-]+)` \\|", Pattern.MULTILINE).matcher(commands);
    Set<String> documented = new LinkedHashSet<>();
    while (m.find()) {
      documented.add(m.group(1));
    }
    assertEquals(new ArrayList<>(table), new ArrayList<>(documented), "README's verb table, in the same order");
  }

  @Test
  void encodePrintsTiktokenIdsAndDecodeReverses(@TempDir Path dir) throws Exception {
    String[] enc = run("Hello, world!", "encode");
    assertEquals("0", enc[0], enc[2]);
    assertEquals("[15496, 11, 995, 0]", enc[1].trim());
    Path ids = dir.resolve("ids.json");
    Files.writeString(ids, enc[1]);
    String[] dec = run("", "decode", "--input", ids.toString());
    assertEquals("Hello, world!", dec[1]);
  }

  @Test
  void encodeOfAMissingFileIsOneLineNamingIt() {
    String[] r = run("", "encode", "--input", "/no/such/file.txt");
    assertEquals("2", r[0]);
    assertEquals("error: /no/such/file.txt: file not found. Fix: pass an existing file to --input", r[2].trim());
  }

  @Test
  void verboseAddsTheStackTraceUnderEveryVerb() {
    List<String> missing = new ArrayList<>();
    leaves(Main.commandLine(), missing);
    assertEquals(List.of(), missing, "verbs without --verbose");
    String[][] failing = {{"encode", "--input", "/no/such/file.txt"},
        {"tokenize", "--input", "x.txt", "--output", "y", "--set", "seq_lne=4", "--dry-run"},
        {"pretrain", "--config", "/no/such/pretrain.yaml", "--dry-run"}};
    for (String[] args : failing) {
      String[] quiet = run("", args);
      List<String> verbose = new ArrayList<>(List.of(args));
      verbose.add("--verbose");
      String[] loud = run("", verbose.toArray(String[]::new));
      String verb = args[0];
      assertEquals("2", quiet[0], verb + ": " + quiet[2]);
      assertEquals("2", loud[0], verb + ": " + loud[2]);
      assertEquals(1, quiet[2].trim().lines().count(), verb + " without --verbose is one line: " + quiet[2]);
      assertEquals(quiet[2].trim(), loud[2].lines().findFirst().orElse(""), verb);
      assertTrue(loud[2].contains("\tat dev.sparkgpt."), verb + " --verbose prints the trace: " + loud[2]);
    }
  }

  @Test
  void aPathWithoutItsFileSystemConnectorSaysWhichPackageToAdd(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("corpus.txt"), "I had always thought Jack Gisburn rather a cheap genius.\n");
    // hadoop-aws is on the test classpath (S3StoragePipelineTest), so an s3a:// path resolves here; a connector
    // that is missing, as hadoop-aws is from Spark distributions, is hadoop-azure's
    String[] abfs = run("", "tokenize", "--input", "abfs://c@account.dfs.core.windows.net/corpus.txt", "--output",
        dir.resolve("o").toString(), "--dry-run");
    assertEquals("2", abfs[0], abfs[2]);
    assertEquals("error: abfs:// paths need hadoop-azure. Fix: spark-submit --packages "
        + "org.apache.hadoop:hadoop-azure:3.3.4", abfs[2].trim());
    // the message for Hadoop's own words when hadoop-aws is missing
    assertEquals("s3a:// paths need hadoop-aws, which Spark distributions leave out. Fix: spark-submit "
        + "--packages org.apache.hadoop:hadoop-aws:3.3.4 (jobs/*.sh: SPARKGPT_S3A=1; the Docker image has it)",
        dev.sparkgpt.io.MissingFileSystem.find(new RuntimeException(new ClassNotFoundException(
            "Class org.apache.hadoop.fs.s3a.S3AFileSystem not found"))).getMessage());
    String[] gs = run("", "tokenize", "--input", dir.resolve("corpus.txt").toString(), "--output",
        "gs://bucket/shards", "--dry-run");
    assertEquals("2", gs[0], gs[2]);
    assertTrue(gs[2].startsWith("error: gs:// paths need the Cloud Storage connector"), gs[2]);
    assertEquals(1, gs[2].trim().lines().count(), gs[2]);
  }

  /** Leaf commands (the ones that run) lacking a --verbose option, as "verb sub". */
  private static void leaves(CommandLine cli, List<String> missing) {
    for (CommandLine sub : cli.getSubcommands().values()) {
      if (!sub.getSubcommands().isEmpty()) {
        leaves(sub, missing);
      } else if (sub.getCommandSpec().findOption("--verbose") == null) {
        missing.add(sub.getCommandSpec().qualifiedName());
      }
    }
  }

  @Test
  void decodeRejectsIdsOutsideTheVocabulary() {
    String[] r = run("[15496, 99999]", "decode");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("99999") && r[2].contains("position 1"), r[2]);
  }

  @Test
  void unknownConfigKeyOnTheCommandLineIsRefusedByName() {
    String[] r = run("", "tokenize", "--input", "x.txt", "--output", "y", "--set", "seq_lne=4", "--dry-run");
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("error: seq_lne: unknown key"), r[2]);
    assertTrue(r[2].contains("seq_len"), r[2]);
  }

  @Test
  void dryRunValidatesWithoutWriting(@TempDir Path dir) {
    Path out = dir.resolve("out");
    String[] r = run("", "tokenize", "--input", "src/main/resources/data/corpora/the-verdict.txt", "--output",
        out.toString(), "--seq-len", "64", "--dry-run");
    assertEquals("0", r[0], r[2]);
    assertTrue(r[1].contains("seq_len: 64") && r[1].contains("dry run: 1 input files"), r[1]);
    assertTrue(!Files.exists(out));
  }
}
