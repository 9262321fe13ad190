package dev.sparkgpt.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class InstructionTemplateTest {
  @Test
  void alpacaWithAndWithoutInputMatchesTheBook() {
    assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the "
        + "request.\n\n### Instruction:\nConvert to passive voice.\n\n### Input:\nThe cat ate the fish.\n\n"
        + "### Response:\n", InstructionTemplate.ALPACA.format("Convert to passive voice.", "The cat ate the fish."));
    assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the "
        + "request.\n\n### Instruction:\nName a colour.\n\n### Response:\n",
        InstructionTemplate.ALPACA.format("Name a colour.", ""));
  }

  @Test
  void extractsTheResponseAndCutsInventedSections() {
    String prompt = InstructionTemplate.ALPACA.format("Name a colour.", null);
    assertEquals("Blue.", InstructionTemplate.ALPACA.extractResponse(prompt + " Blue.\n\n### Instruction:\nMore"));
    assertEquals("Red", InstructionTemplate.ALPACA.extractResponse("Red\n"));
  }
}
