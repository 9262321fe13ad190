package dev.sparkgpt.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Synthetic run directories with known values (docs/metrics-format.md), shared by the report tests. */
final class RunFixtures {
  /** Four distributed pretraining steps (val at 200 and, via a separate eval line, 400) and three finetune epochs. */
  static final List<String> METRICS = List.of(
      "{\"step\":100,\"tokens_seen\":51200,\"epoch\":0,\"train_loss\":4.5,\"lr\":0.0003,\"grad_norm\":1.5,"
          + "\"tokens_per_sec\":1000.0,\"mfu\":0.1,\"elapsed_s\":51.2,\"workers\":2,\"round\":1,\"averaging_ms\":10.0,"
          + "\"broadcast_ms\":5.0,\"compute_ms\":100.0,\"note\":\"warm-up\"}",
      "{\"step\":200,\"tokens_seen\":102400,\"train_loss\":3.0,\"val_loss\":2.345,\"lr\":0.0006,\"grad_norm\":1.0,"
          + "\"tokens_per_sec\":2000.0,\"mfu\":0.2,\"elapsed_s\":102.4,\"workers\":2,\"round\":2,\"averaging_ms\":12.0,"
          + "\"broadcast_ms\":6.0,\"compute_ms\":110.0}",
      "{\"step\":200,\"event\":\"checkpoint\"}",
      "",
      "{\"step\":300,\"tokens_seen\":153600,\"train_loss\":2.8,\"lr\":0.0004,\"grad_norm\":0.8,"
          + "\"tokens_per_sec\":3000.0,\"mfu\":0.3,\"elapsed_s\":153.6,\"workers\":2,\"round\":3,\"averaging_ms\":14.0,"
          + "\"broadcast_ms\":7.0,\"compute_ms\":120.0,\"extra\":{\"nested\":[1,2]}}",
      "{\"step\":400,\"tokens_seen\":204800,\"train_loss\":2.5,\"lr\":0.0002,\"grad_norm\":0.6,"
          + "\"tokens_per_sec\":4000.0,\"mfu\":0.4,\"elapsed_s\":204.8,\"workers\":2,\"round\":4,\"averaging_ms\":16.0,"
          + "\"broadcast_ms\":8.0,\"compute_ms\":130.0}",
      "{\"step\":400,\"event\":\"eval\",\"val_loss\":2.6}",
      "{\"epoch\":1,\"train_loss\":0.9,\"val_loss\":0.8,\"train_acc\":0.6,\"val_acc\":0.55}",
      "{\"epoch\":2,\"train_loss\":0.5,\"val_loss\":0.45,\"train_acc\":0.8,\"val_acc\":0.85}",
      "{\"epoch\":3,\"train_loss\":0.3,\"val_loss\":0.5,\"train_acc\":0.9,\"val_acc\":0.8,\"test_acc\":0.825}");

  /** Only finetune epoch lines: the summary's losses then come from the epochs. */
  static final List<String> FINETUNE_METRICS = METRICS.subList(7, 10);

  private RunFixtures() {}

  /**
   * A run directory with every input: metrics.jsonl, two eval/*.json, report.json (accuracies and perplexities at
   * steps 200, 400 and 300) and confusion.json.
   */
  static Path fullRun(Path parent) throws IOException {
    Path dir = Files.createDirectories(parent.resolve("run"));
    writeLines(dir.resolve("metrics.jsonl"), METRICS);
    Files.createDirectories(dir.resolve("eval"));
    Files.writeString(dir.resolve("eval/step-000200.json"), """
        {"tasks": {"hellaswag": {"n": 100, "acc": 0.25, "acc_norm": 0.27, "acc_stderr": 0.0435},
                   "arc_easy": {"n": 50, "acc": 0.4, "acc_stderr": 0.07}},
         "perplexity": {"runs/x/shards": {"tokens": 4096, "perplexity": 40.5, "bits_per_byte": 1.625}},
         "checkpoint": {"path": "runs/x", "id": "step-000200", "step": 200}}
        """);
    Files.writeString(dir.resolve("eval/step-000400.json"), """
        {"tasks": {"hellaswag": {"n": 100, "acc": 0.3125, "acc_stderr": 0.0466},
                   "arc_easy": {"n": 50, "acc": 0.46, "acc_stderr": 0.0712}},
         "perplexity": {"runs/x/shards": {"tokens": 4096, "perplexity": 30.25, "bits_per_byte": 1.5},
                        "data/extra.txt": {"tokens": 100, "perplexity": 55.0}},
         "checkpoint": {"path": "runs/x", "id": "step-000400"}}
        """);
    Files.writeString(dir.resolve("eval/notes.txt"), "not a report: ignored, it is not .json");
    Files.writeString(dir.resolve("report.json"), """
        {"tasks": {"hellaswag": {"n": 100, "acc": 0.33, "acc_stderr": 0.047}}, "checkpoint": {"step": 300},
         "perplexity": {"runs/x/shards": {"tokens": 4096, "perplexity": 35.0, "bits_per_byte": 1.55}},
         "created_at": "2024-05-01T12:00:00Z"}
        """);
    Files.writeString(dir.resolve("confusion.json"), """
        {"labels": ["ham", "spam"], "matrix": [[90, 10], [5, 95]]}
        """);
    return dir;
  }

  /** A run directory holding only {@code lines} as metrics.jsonl, each followed by a newline. */
  static Path metricsOnly(Path parent, List<String> lines) throws IOException {
    Path dir = Files.createDirectories(parent.resolve("run"));
    writeLines(dir.resolve("metrics.jsonl"), lines);
    return dir;
  }

  static void writeLines(Path file, List<String> lines) throws IOException {
    Files.writeString(file, String.join("\n", lines) + "\n");
  }
}
