package dev.sparkgpt.generate;

import java.util.Objects;

/**
 * How an instruction (and optional input) becomes a prompt: the book's Alpaca format (chapter 7), shared by the
 * instruction finetune, {@code chat}, {@code serve}'s chat endpoint and the judge, so that a model is always asked in
 * the format it was finetuned on. The response follows {@link #format}'s text directly.
 *
 * @param preamble    text before the instruction, ending in a blank line (may be empty)
 * @param instruction header before the instruction, e.g. {@code "### Instruction:\n"}
 * @param input       header before the input, preceded by a blank line; the section is left out for empty input
 * @param response    header before the response, preceded by a blank line
 */
public record InstructionTemplate(String preamble, String instruction, String input, String response) {
  /** The Alpaca template, exactly as in the book and in Stanford Alpaca's "prompt_input"/"prompt_no_input". */
  public static final InstructionTemplate ALPACA = new InstructionTemplate(
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n",
      "### Instruction:\n", "### Input:\n", "### Response:\n");

  public InstructionTemplate {
    Objects.requireNonNull(preamble, "preamble");
    Objects.requireNonNull(instruction, "instruction");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(response, "response");
  }

  /** The prompt up to and including the response header; the model's answer continues it. */
  public String format(String instructionText, String inputText) {
    return formatInput(instructionText, inputText) + "\n\n" + response;
  }

  /** Preamble, instruction and (non-empty) input without the response header: the book's {@code format_input}. */
  public String formatInput(String instructionText, String inputText) {
    StringBuilder text = new StringBuilder(preamble).append(instruction).append(instructionText);
    if (inputText != null && !inputText.isBlank()) {
      text.append("\n\n").append(input).append(inputText);
    }
    return text.toString();
  }

  /**
   * The response part of a generated text: what follows the response header, cut at the next section header the
   * model may go on to invent ("### Instruction:" …), trimmed.
   */
  public String extractResponse(String generated) {
    String answer = generated;
    String marker = response.strip();
    int at = answer.lastIndexOf(marker);
    if (at >= 0) {
      answer = answer.substring(at + marker.length());
    }
    int next = answer.indexOf("\n### ");
    if (next >= 0) {
      answer = answer.substring(0, next);
    }
    return answer.strip();
  }
}
