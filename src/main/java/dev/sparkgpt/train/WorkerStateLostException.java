package dev.sparkgpt.train;

import dev.sparkgpt.SparkGptException;

/**
 * A parameter-averaging worker found no state of its own for the round it was given: the executor that kept its
 * optimizer moments was lost (or restarted) between rounds. Training never goes on with made-up moments: the job
 * resumes from the last checkpoint, which holds every worker's moments, so the result is the same as without the loss.
 */
public final class WorkerStateLostException extends SparkGptException {
  private static final long serialVersionUID = 1L;

  public WorkerStateLostException(String message) {
    super(message);
  }

  /** Whether {@code t} or one of its causes (a Spark job failure wraps the task's exception) is one. */
  public static boolean causedBy(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof WorkerStateLostException || (c.getMessage() != null
          && c.getMessage().contains(WorkerStateLostException.class.getSimpleName()))) {
        return true;
      }
    }
    return false;
  }
}
