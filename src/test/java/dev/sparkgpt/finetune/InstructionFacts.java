package dev.sparkgpt.finetune;

import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Four short instructions with one-word answers, the tests' memorisation data set. */
public final class InstructionFacts {
  private static final String[][] FACTS = {{"Name the capital of France.", "Paris."}, {"What is 2 plus 3?", "Five."},
      {"Give the opposite of hot.", "Cold."}, {"Translate 'gato' to English.", "Cat."}};

  private InstructionFacts() {}

  /** Writes {@code copies} × the four facts as a JSON array to {@code dir/facts.json}. */
  public static Path write(Path dir, int copies) throws IOException {
    List<Map<String, String>> entries = new ArrayList<>();
    for (int copy = 0; copy < copies; copy++) {
      for (String[] f : FACTS) {
        entries.add(Map.of("instruction", f[0], "input", "", "output", f[1]));
      }
    }
    Path data = dir.resolve("facts.json");
    Files.writeString(data, JsonFiles.MAPPER.writeValueAsString(entries));
    return data;
  }
}
