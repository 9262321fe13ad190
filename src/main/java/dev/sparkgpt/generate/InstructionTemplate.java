package dev.sparkgpt.generate;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How an instruction (and optional input) becomes a prompt: the book's Alpaca format (chapter 7) by default, the
 * Phi-3 style of its exercise 7.1, or custom strings ({@code data.template} of the instruct finetune). The instruction
 * finetune, {@code chat} and {@code serve}'s chat endpoint share it, and a finetune records its template in the
 * checkpoint, so a model is always asked in the format it was finetuned on. The response follows {@link #format}'s
 * text directly.
 *
 * @param preamble    text before the instruction (may be empty)
 * @param instruction header before the instruction, e.g. {@code "### Instruction:\n"}
 * @param input       header before the input; the section is left out for empty input
 * @param response    header before the response
 * @param separator   between the sections: {@code "\n\n"} (Alpaca), {@code "\n"} (Phi-3)
 * @param stop        where a generated response ends: the start of a section the model goes on to invent
 */
public record InstructionTemplate(String preamble, String instruction, String input, String response,
    String separator, String stop) {
  /** The Alpaca template, exactly as in the book and in Stanford Alpaca's "prompt_input"/"prompt_no_input". */
  public static final InstructionTemplate ALPACA = new InstructionTemplate(
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n",
      "### Instruction:\n", "### Input:\n", "### Response:\n", "\n\n", "\n### ");

  /** The Phi-3 style of the book's exercise 7.1: {@code <|user|>\n...\n<|assistant|>\n}, the input on its own line. */
  public static final InstructionTemplate PHI3 = new InstructionTemplate("", "<|user|>\n", "", "<|assistant|>\n",
      "\n", "\n<|user|>");

  /** The named templates ({@code data.template} values besides {@code custom}). */
  public static final Map<String, InstructionTemplate> NAMED = Map.of("alpaca", ALPACA, "phi3", PHI3);

  /** The keys of {@link #strings()}, in order. */
  private static final List<String> KEYS = List.of("preamble", "instruction", "input", "response", "separator",
      "stop");

  public InstructionTemplate {
    Objects.requireNonNull(preamble, "preamble");
    Objects.requireNonNull(instruction, "instruction");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(response, "response");
    Objects.requireNonNull(separator, "separator");
    Objects.requireNonNull(stop, "stop");
  }

  /** The template of this name ("alpaca", "phi3"); anything else is an IllegalArgumentException naming the valid ones. */
  public static InstructionTemplate named(String name) {
    InstructionTemplate t = NAMED.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no template '" + name + "': use one of " + new java.util.TreeSet<>(
          NAMED.keySet()));
    }
    return t;
  }

  /**
   * The template a checkpoint's state.json records ({@code template_strings}, written by the instruct finetune), or
   * the named one ({@code template}); Alpaca for checkpoints that record none (older runs, pretraining, Hugging Face).
   */
  public static InstructionTemplate fromState(JsonNode state) {
    if (state == null) {
      return ALPACA;
    }
    JsonNode strings = state.path("template_strings");
    if (strings.isObject()) {
      String[] v = new String[KEYS.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = strings.path(KEYS.get(i)).asText("");
      }
      return new InstructionTemplate(v[0], v[1], v[2], v[3], v[4], v[5]);
    }
    return NAMED.getOrDefault(state.path("template").asText("alpaca"), ALPACA);
  }

  /** "alpaca" or "phi3" for the named templates, else "custom". */
  public String name() {
    return NAMED.entrySet().stream().filter(e -> e.getValue().equals(this)).map(Map.Entry::getKey).findFirst()
        .orElse("custom");
  }

  /** The six strings by name, as checkpoints record them. */
  public Map<String, String> strings() {
    Map<String, String> out = new LinkedHashMap<>();
    List<String> values = List.of(preamble, instruction, input, response, separator, stop);
    for (int i = 0; i < KEYS.size(); i++) {
      out.put(KEYS.get(i), values.get(i));
    }
    return out;
  }

  /**
   * This template as a Hugging Face chat template (Jinja, for tokenizer_config.json): each user turn is
   * preamble + instruction header + message + separator, each assistant turn response header + message + separator,
   * as {@code ChatSession} builds prompts; a leading system message replaces the preamble as {@link #withSystem} does;
   * add_generation_prompt appends the response header.
   */
  public String chatTemplate() {
    return "{%- set ns = namespace(pre=" + jinja(preamble) + ") -%}"
        + "{%- for m in messages -%}"
        + "{%- if m['role'] == 'system' -%}{%- set ns.pre = m['content'] ~ " + jinja(separator) + " -%}"
        + "{%- elif m['role'] == 'user' -%}{{- ns.pre ~ " + jinja(instruction) + " ~ m['content'] ~ "
        + jinja(separator) + " -}}"
        + "{%- elif m['role'] == 'assistant' -%}{{- " + jinja(response) + " ~ m['content'] ~ " + jinja(separator)
        + " -}}"
        + "{%- else -%}{{- raise_exception('roles are system, user and assistant') -}}{%- endif -%}"
        + "{%- endfor -%}"
        + "{%- if add_generation_prompt -%}{{- " + jinja(response) + " -}}{%- endif -%}";
  }

  /** A Jinja string literal: JSON's escapes are Python's (Jinja unescapes literals as unicode-escape). */
  private static String jinja(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '"' -> out.append("\\\"");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> out.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    return out.append('"').toString();
  }

  /** This template with another preamble (a chat's system message), followed by the separator. */
  public InstructionTemplate withSystem(String system) {
    return new InstructionTemplate(system + separator, instruction, input, response, separator, stop);
  }

  /** The stop strings of a generation in this format (none when {@link #stop} is empty). */
  public List<String> stops() {
    return stop.isEmpty() ? List.of() : List.of(stop);
  }

  /** The prompt up to and including the response header; the model's answer continues it. */
  public String format(String instructionText, String inputText) {
    return formatInput(instructionText, inputText) + separator + response;
  }

  /** Preamble, instruction and (non-empty) input without the response header: the book's {@code format_input}. */
  public String formatInput(String instructionText, String inputText) {
    StringBuilder text = new StringBuilder(preamble).append(instruction).append(instructionText);
    if (inputText != null && !inputText.isBlank()) {
      text.append(separator).append(input).append(inputText);
    }
    return text.toString();
  }

  /**
   * The response part of a generated text: what follows the response header, cut at {@link #stop} (a section the
   * model may go on to invent, "### Instruction:" …), trimmed.
   */
  public String extractResponse(String generated) {
    String answer = generated;
    String marker = response.strip();
    int at = marker.isEmpty() ? -1 : answer.lastIndexOf(marker);
    if (at >= 0) {
      answer = answer.substring(at + marker.length());
    }
    int next = stop.isEmpty() ? -1 : answer.indexOf(stop);
    if (next >= 0) {
      answer = answer.substring(0, next);
    }
    return answer.strip();
  }
}
