package dev.sparkgpt.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * The tokenizer files of an exported Hugging Face directory, as {@code AutoTokenizer}, vLLM and lm-eval's
 * {@code --model hf} read them: {@code tokenizer.json} (the model's own when it came with one, else written from the
 * tokenizer), {@code tokenizer_config.json} (PreTrainedTokenizerFast, eos/bos, model_max_length, the chat template of
 * an instruct finetune), {@code special_tokens_map.json}, {@code generation_config.json} (bos/eos ids) and, for a
 * GPT-2-shaped vocabulary, GPT-2's slow-tokenizer pair {@code vocab.json} + {@code merges.txt}. A SentencePiece
 * tokenizer is exported as Llama-2 ships it: {@code tokenizer.model} with {@code LlamaTokenizer} and BOS added.
 */
public final class HfTokenizerFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HfTokenizerFiles() {}

  /**
   * Writes the files into {@code dir}. {@code originalJson} (may be null) is the tokenizer.json the model came with;
   * {@code chatTemplate} (may be null) a Jinja chat template; {@code maxLength} the model's context.
   *
   * @throws IllegalArgumentException for a tokenizer that is not byte-level BPE and came without a tokenizer.json
   */
  public static void write(Path dir, Tokenizer tokenizer, byte[] originalJson, String chatTemplate, int maxLength)
      throws IOException {
    if (tokenizer instanceof SentencePieceTokenizer spm) {
      writeSentencePiece(dir, spm, chatTemplate, maxLength);
      return;
    }
    byte[] json = originalJson != null ? originalJson : Tokenizers.toHfTokenizerJson(tokenizer);
    Files.write(dir.resolve(HfTokenizerJson.FILE), json);
    String eos = new String(tokenizer.decodeBytes(new int[] {tokenizer.eotId()}), StandardCharsets.UTF_8);
    ObjectNode config = JSON.createObjectNode().put("tokenizer_class", "PreTrainedTokenizerFast")
        .put("bos_token", eos).put("eos_token", eos).put("unk_token", eos).put("model_max_length", maxLength)
        .put("clean_up_tokenization_spaces", false).put("add_bos_token", false).put("add_eos_token", false);
    if (chatTemplate != null) {
      config.put("chat_template", chatTemplate);
    }
    writeJson(dir.resolve("tokenizer_config.json"), config);
    writeJson(dir.resolve("special_tokens_map.json"), JSON.createObjectNode().put("bos_token", eos)
        .put("eos_token", eos).put("unk_token", eos));
    writeJson(dir.resolve("generation_config.json"), JSON.createObjectNode().put("bos_token_id", tokenizer.eotId())
        .put("eos_token_id", tokenizer.eotId()).put("pad_token_id", tokenizer.eotId()));
    if (tokenizer instanceof BpeTokenizer bpe && bpe.definition().isGpt2Shape()) {
      JsonNode model = JSON.readTree(json).path("model");
      writeJson(dir.resolve("vocab.json"), model.path("vocab"));
      StringBuilder merges = new StringBuilder("#version: 0.2\n");
      for (Iterator<JsonNode> it = model.path("merges").elements(); it.hasNext(); ) {
        JsonNode m = it.next();
        merges.append(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText()).append('\n');
      }
      Files.writeString(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
    }
  }

  /** Llama-2's files: its tokenizer.model as it came, LlamaTokenizer with BOS added (as Llama-2 models expect). */
  private static void writeSentencePiece(Path dir, SentencePieceTokenizer spm, String chatTemplate, int maxLength)
      throws IOException {
    Files.write(dir.resolve(Tokenizers.SENTENCEPIECE_FILE), spm.modelBytes());
    int bos = spm.bosId();
    String eos = spm.piece(spm.eotId());
    ObjectNode config = JSON.createObjectNode().put("tokenizer_class", "LlamaTokenizer")
        .put("eos_token", eos).put("unk_token", spm.piece(spm.unkId())).put("model_max_length", maxLength)
        .put("clean_up_tokenization_spaces", false).put("add_bos_token", bos >= 0).put("add_eos_token", false)
        .put("legacy", true);
    ObjectNode special = JSON.createObjectNode().put("eos_token", eos).put("unk_token", spm.piece(spm.unkId()));
    ObjectNode generation = JSON.createObjectNode().put("eos_token_id", spm.eotId());
    if (bos >= 0) {
      config.put("bos_token", spm.piece(bos));
      special.put("bos_token", spm.piece(bos));
      generation.put("bos_token_id", bos);
    }
    if (chatTemplate != null) {
      config.put("chat_template", chatTemplate);
    }
    writeJson(dir.resolve("tokenizer_config.json"), config);
    writeJson(dir.resolve("special_tokens_map.json"), special);
    writeJson(dir.resolve("generation_config.json"), generation);
  }

  private static void writeJson(Path file, Object value) throws IOException {
    Files.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(value));
  }
}
