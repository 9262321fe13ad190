package dev.sparkgpt.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The SentencePiece fixtures (see src/test/resources/tokenizer/sentencepiece/README.md) as tests use them. */
public final class SentencePieceFixtures {
  /** The Llama-2-style tokenizer.model (1,200 pieces, eos 2). */
  public static final Path LLAMA2_STYLE = Path.of("src/test/resources/tokenizer/sentencepiece/llama2-style.model");
  private static final Path LLAMA = Path.of("src/test/resources/fixtures/llama-hf-tiny");

  private SentencePieceFixtures() {}

  /**
   * The Llama fixture (links to its weights) laid out as a Llama-2 directory: tokenizer.model beside a
   * SentencePiece-style tokenizer.json (byte_fallback), which must not be read instead.
   */
  public static Path llama2Directory(Path tmp) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("llama2-like"));
    for (String f : new String[] {"config.json", "model.safetensors"}) {
      Files.createSymbolicLink(dir.resolve(f), LLAMA.resolve(f).toAbsolutePath());
    }
    Files.copy(LLAMA2_STYLE, dir.resolve("tokenizer.model"));
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true},"
        + " \"decoder\": {\"type\": \"Sequence\"}}");
    return dir;
  }
}
