package dev.sparkgpt.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;

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

  @Test
  void phi3IsTheBooksExercise71Format() {
    assertEquals("<|user|>\nName a colour.\n<|assistant|>\n", InstructionTemplate.PHI3.format("Name a colour.", ""));
    assertEquals("<|user|>\nConvert to passive voice.\nThe cat ate the fish.\n<|assistant|>\n",
        InstructionTemplate.PHI3.format("Convert to passive voice.", "The cat ate the fish."));
    String prompt = InstructionTemplate.PHI3.format("Name a colour.", "");
    assertEquals("Blue.", InstructionTemplate.PHI3.extractResponse(prompt + "Blue.\n<|user|>\nMore"));
    assertEquals(List.of("\n<|user|>"), InstructionTemplate.PHI3.stops());
    assertEquals("phi3", InstructionTemplate.PHI3.name());
    assertEquals("alpaca", InstructionTemplate.ALPACA.name());
  }

  @Test
  void customStringsAndWhatCheckpointsRecord() throws Exception {
    InstructionTemplate custom = new InstructionTemplate("You help.\n", "Q: ", "Context: ", "A:", "\n", "\nQ:");
    assertEquals("You help.\nQ: Sum 2 and 3.\nContext: be brief\nA:", custom.format("Sum 2 and 3.", "be brief"));
    assertEquals("5", custom.extractResponse(custom.format("Sum 2 and 3.", "") + " 5\nQ: next"));
    assertEquals("custom", custom.name());
    assertEquals(List.of(), new InstructionTemplate("", "Q: ", "", "A:", "\n", "").stops(), "no empty stop string");

    ObjectMapper json = new ObjectMapper();
    JsonNode state = json.valueToTree(Map.of("template", "custom", "template_strings", custom.strings()));
    assertEquals(custom, InstructionTemplate.fromState(state));
    assertEquals(InstructionTemplate.PHI3, InstructionTemplate.fromState(json.readTree("{\"template\": \"phi3\"}")));
    assertEquals(InstructionTemplate.ALPACA, InstructionTemplate.fromState(json.readTree("{\"kind\": \"instruct\"}")),
        "an older checkpoint without a template");
    assertEquals(InstructionTemplate.ALPACA, InstructionTemplate.fromState(null), "a Hugging Face directory");
    assertEquals(List.of("preamble", "instruction", "input", "response", "separator", "stop"),
        List.copyOf(InstructionTemplate.ALPACA.strings().keySet()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InstructionTemplate.named("x"));
    assertEquals("no template 'x': use one of [alpaca, phi3]", e.getMessage());
  }
}
