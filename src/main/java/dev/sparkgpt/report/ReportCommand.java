package dev.sparkgpt.report;

import dev.sparkgpt.io.HadoopConf;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sparkgpt report RUN_DIR [--out DIR] [--log-x]}: draws a run directory's metrics.jsonl, eval reports and
 * confusion.json (docs/metrics-format.md) as PNG charts and report.html, by default into RUN_DIR/report/, and prints
 * the summary table. Example: {@code bin/sparkgpt report runs/gpt2-small && xdg-open runs/gpt2-small/report/report.html}.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Chart a run's metrics (loss, learning rate, throughput, eval accuracy, confusion matrix) as PNGs "
        + "and report.html, and print its summary.")
public final class ReportCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A run directory: the out_dir of a pretrain or "
      + "finetune run (any Hadoop path).")
  String runDir;

  @Option(names = "--out", paramLabel = "DIR", description = "Report directory (default: RUN_DIR/"
      + RunReport.DEFAULT_DIR + "); an older report there is replaced.")
  String out;

  @Option(names = "--log-x", description = "Logarithmic x axis (tokens seen) on the loss chart.")
  boolean logX;

  @Option(names = {"-v", "--verbose"}, description = "Print stack traces with errors.")
  boolean verbose;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    Configuration conf = HadoopConf.create();
    String outDir = out != null ? out : new Path(runDir, RunReport.DEFAULT_DIR).toString();
    RunMetrics metrics = RunMetrics.load(runDir, conf);
    RunReport.Result result = RunReport.write(metrics, outDir, logX, conf);
    PrintWriter console = spec.commandLine().getOut();
    console.printf("report: %s -> %s (%d charts)%n", runDir, new Path(outDir, RunReport.HTML_FILE),
        result.files().size() - 1);
    console.print(result.summary().toConsole());
    console.flush();
    PrintWriter err = spec.commandLine().getErr();
    result.warnings().forEach(w -> err.println("warning: " + w));
    err.flush();
    return 0;
  }
}
