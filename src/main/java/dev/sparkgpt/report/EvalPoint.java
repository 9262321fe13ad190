package dev.sparkgpt.report;

/**
 * One task's accuracy in one eval report (report.json of {@code sparkgpt eval}) found in a run directory.
 *
 * @param task the task name, a key of the report's {@code tasks}
 * @param step the training step of the checkpoint evaluated, or null when the report does not say
 * @param file the report file, relative to the run directory
 * @param n items scored, or null
 * @param acc accuracy, or null when the report has none for this task
 * @param accNorm length-normalised accuracy, or null
 * @param accStderr standard error of acc, or null
 */
public record EvalPoint(String task, Long step, String file, Long n, Double acc, Double accNorm, Double accStderr) {}
