package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.generate.InstructionTemplate;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparkgpt.generate.ChatSession;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What convert sparkgpt-to-hf writes for the tokenizer, file by file, as the loaders read it: AutoTokenizer reads
 * tokenizer_config.json (tokenizer_class, eos/bos, model_max_length, chat_template) and tokenizer.json, or GPT-2's
 * vocab.json + merges.txt for the slow class; vLLM and lm-eval's --model hf go through AutoTokenizer and read
 * generation_config.json's eos_token_id as the default stop.
 */
class ConvertTokenizerFilesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path GPT2_HF = Path.of("src/test/resources/fixtures/gpt2-hf-tiny");
  private static final Path LLAMA = Path.of("src/test/resources/fixtures/llama-hf-tiny");

  private static JsonNode json(Path file) throws Exception {
    return JSON.readTree(file.toFile());
  }

  @Test
  void aGpt2ExportCarriesGpt2sTokenizerFiles(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("hf");
    String[] r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", GPT2_HF.toString(), "--to", out.toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(r[1].contains("(F32; tokenizer gpt2)"), r[1]);
    Tokenizer back = Tokenizers.fromHfTokenizerJson("back", Files.readAllBytes(out.resolve("tokenizer.json")), null);
    assertEquals(Tokenizers.gpt2().hash(), back.hash());
    JsonNode config = json(out.resolve("tokenizer_config.json"));
    assertEquals("PreTrainedTokenizerFast", config.path("tokenizer_class").asText());
    assertEquals("<|endoftext|>", config.path("eos_token").asText());
    assertEquals("<|endoftext|>", config.path("bos_token").asText());
    assertEquals(128, config.path("model_max_length").asInt());
    assertFalse(config.has("chat_template"), "not an instruct finetune");
    JsonNode generation = json(out.resolve("generation_config.json"));
    assertEquals(50256, generation.path("eos_token_id").asInt());
    assertEquals(50256, generation.path("bos_token_id").asInt());
    // the slow GPT2Tokenizer's pair: GPT-2's own encoder.json and vocab.bpe, same content
    assertEquals(JSON.readTree(getClass().getResourceAsStream("/data/tokenizer/encoder.json")),
        json(out.resolve("vocab.json")));
    List<String> merges = Files.readAllLines(out.resolve("merges.txt"));
    List<String> gpt2 = new String(getClass().getResourceAsStream("/data/tokenizer/vocab.bpe").readAllBytes(),
        java.nio.charset.StandardCharsets.UTF_8).lines().filter(l -> !l.isEmpty()).toList();
    assertEquals(gpt2.subList(1, gpt2.size()), merges.subList(1, merges.size()));
    assertEquals("#version: 0.2", merges.get(0));
  }

  @Test
  void anHfTokenizerJsonIsExportedAsItCameAndUnknownOnesAreNotGuessed(@TempDir Path tmp) throws Exception {
    Path llama = Files.createDirectories(tmp.resolve("llama3-like"));
    for (String f : new String[] {"config.json", "model.safetensors"}) {
      Files.createSymbolicLink(llama.resolve(f), LLAMA.resolve(f).toAbsolutePath());
    }
    byte[] original = Files.readAllBytes(Path.of("src/test/resources/tokenizer/hf/llama3-style-tokenizer.json"));
    Files.write(llama.resolve("tokenizer.json"), original);
    Files.writeString(llama.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|end_of_text|>\"}");
    Path out = tmp.resolve("hf");
    String[] r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", llama.toString(), "--to", out.toString());
    assertEquals("0", r[0], r[2]);
    assertArrayEquals(original, Files.readAllBytes(out.resolve("tokenizer.json")));
    assertEquals("<|end_of_text|>", json(out.resolve("tokenizer_config.json")).path("eos_token").asText());
    assertEquals(600, json(out.resolve("generation_config.json")).path("eos_token_id").asInt());
    assertFalse(Files.exists(out.resolve("vocab.json")), "not GPT-2's shape: tokenizer.json only");

    Path bare = tmp.resolve("bare");
    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", LLAMA.toString(), "--to", bare.toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(r[1].contains("no tokenizer files: the checkpoint records no tokenizer"), r[1]);
    assertFalse(Files.exists(bare.resolve("tokenizer.json")));

    r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", LLAMA.toString(), "--to", tmp.resolve("x").toString(),
        "--tokenizer", "o200k_base");
    assertEquals("2", r[0]);
    assertEquals("error: --tokenizer: o200k_base has 200019 ids but the model only 32000. Fix: pass the tokenizer the"
        + " model was trained with", r[2].trim());
    assertFalse(Files.exists(tmp.resolve("x")));
  }

  @Test
  void aLlama2ExportCarriesItsSentencePieceModelAsLlamaTokenizer(@TempDir Path tmp) throws Exception {
    Path llama2 = dev.sparkgpt.tokenizer.SentencePieceFixtures.llama2Directory(tmp);
    Path out = tmp.resolve("hf");
    String[] r = MainTest.run("", "convert", "sparkgpt-to-hf", "--from", llama2.toString(), "--to", out.toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(r[1].contains("(F32; tokenizer llama2-like)"), r[1]);
    // AutoTokenizer: tokenizer_class LlamaTokenizer (or its Fast twin, converted) reads tokenizer.model
    assertArrayEquals(Files.readAllBytes(llama2.resolve("tokenizer.model")),
        Files.readAllBytes(out.resolve("tokenizer.model")));
    assertFalse(Files.exists(out.resolve("tokenizer.json")), "no byte-level tokenizer.json is made up");
    JsonNode config = json(out.resolve("tokenizer_config.json"));
    assertEquals("LlamaTokenizer", config.path("tokenizer_class").asText());
    assertEquals("<s>", config.path("bos_token").asText());
    assertEquals("</s>", config.path("eos_token").asText());
    assertEquals("<unk>", config.path("unk_token").asText());
    assertTrue(config.path("add_bos_token").asBoolean(), "Llama-2 models expect <s> first");
    assertEquals(128, config.path("model_max_length").asInt());
    JsonNode generation = json(out.resolve("generation_config.json"));
    assertEquals(1, generation.path("bos_token_id").asInt());
    assertEquals(2, generation.path("eos_token_id").asInt()); // vLLM's and lm-eval's default stop
    assertEquals("</s>", json(out.resolve("special_tokens_map.json")).path("eos_token").asText());
  }

  @Test
  void theChatTemplateIsTheInstructionTemplate() {
    String t = InstructionTemplate.ALPACA.chatTemplate();
    // Rendered by Jinja for [system "Be brief.", user "Hi", assistant "Hello", user "Sum 2+2"] + generation prompt,
    // this gives ChatSession's prompt (see docs/checkpoints.md); here: the strings sit in it as Jinja literals.
    assertTrue(t.startsWith("{%- set ns = namespace(pre=\"Below is an instruction that describes a task. Write a"
        + " response that appropriately completes the request.\\n\\n\") -%}"), t);
    assertTrue(t.contains("{{- ns.pre ~ \"### Instruction:\\n\" ~ m['content'] ~ \"\\n\\n\" -}}"), t);
    assertTrue(t.endsWith("{%- if add_generation_prompt -%}{{- \"### Response:\\n\" -}}{%- endif -%}"), t);
  }

  /**
   * The exported chat template rendered by Jinja2 the way transformers' apply_chat_template renders it (an immutable
   * sandbox, trim_blocks and lstrip_blocks, loopcontrols, a raise_exception global) gives exactly the prompt our
   * chat builds from the same conversation, for both templates; skipped without a python3 that has jinja2.
   */
  @Test
  void jinjaRendersTheChatTemplateAsChatBuildsItsPrompt(@TempDir Path dir) throws Exception {
    String render = String.join("\n",
        "import json, sys",
        "from jinja2.sandbox import ImmutableSandboxedEnvironment",
        "from jinja2.ext import loopcontrols",
        "from jinja2.exceptions import TemplateError",
        "def raise_exception(message):",
        "    raise TemplateError(message)",
        "job = json.load(open(sys.argv[1], encoding='utf-8'))",
        "env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])",
        "env.globals['raise_exception'] = raise_exception",
        "out = env.from_string(job['template']).render(messages=job['messages'], add_generation_prompt=True)",
        "sys.stdout.write(json.dumps(out))");
    Files.writeString(dir.resolve("render.py"), render);
    Tokenizer gpt2 = Tokenizers.load("gpt2");
    List<ChatSession.Turn> history = List.of(new ChatSession.Turn("Hi \"there\"\n\tfriend", "Hello — ünïcode"),
        new ChatSession.Turn("And {{ braces }} {% raw %}?", "Sure."));
    for (InstructionTemplate template : List.of(InstructionTemplate.ALPACA, InstructionTemplate.PHI3)) {
      List<Map<String, String>> messages = new ArrayList<>();
      messages.add(Map.of("role", "system", "content", "Be brief."));
      for (ChatSession.Turn t : history) {
        messages.add(Map.of("role", "user", "content", t.user()));
        messages.add(Map.of("role", "assistant", "content", t.model()));
      }
      messages.add(Map.of("role", "user", "content", "Sum 2+2"));
      Path job = dir.resolve("job.json");
      new ObjectMapper().writeValue(job.toFile(), Map.of("template", template.chatTemplate(), "messages", messages));
      Process p;
      try {
        p = new ProcessBuilder("python3", dir.resolve("render.py").toString(), job.toString())
            .redirectError(dir.resolve("err.txt").toFile()).start();
      } catch (java.io.IOException e) {
        assumeTrue(false, "no python3: " + e.getMessage());
        return;
      }
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      String err = Files.readString(dir.resolve("err.txt"));
      assumeTrue(p.exitValue() == 0 || !err.contains("No module named 'jinja2'"), "python3 has no jinja2");
      assertEquals(0, p.exitValue(), err);
      String rendered = new ObjectMapper().readValue(out, String.class);
      String ours = ChatSession.prompt(template.withSystem("Be brief."), gpt2, history, "Sum 2+2", 1 << 20);
      assertEquals(ours, rendered, "template " + template);
    }
  }
}
