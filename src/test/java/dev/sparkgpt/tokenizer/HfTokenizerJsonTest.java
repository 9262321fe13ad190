package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.io.InputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * tokenizer.json read and written: ids equal to Hugging Face's tokenizers.js on the fixtures of
 * src/test/resources/tokenizer/hf (README.md there), GPT-2's own file equal to the built-in gpt2, and refusals.
 */
class HfTokenizerJsonTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DIR = "/tokenizer/hf/";
  static final List<String> TEXTS = texts();
  private static final JsonNode EXPECTED = json(ReferenceBpe.resource(DIR + "expected-ids.json")).path("ids");

  static List<String> texts() {
    List<String> texts = new ArrayList<>();
    json(ReferenceBpe.resource(DIR + "texts.json")).path("texts").forEach(t -> texts.add(t.asText()));
    return texts;
  }

  static JsonNode json(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] gpt2Json() {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(
        ReferenceBpe.resource(DIR + "gpt2-tokenizer.json.gz")))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int[] ints(JsonNode array) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = array.get(i).asInt();
    }
    return ids;
  }

  /** encodeWithSpecial = tokenizers.js encode for every text; decode gives the (normalised) text back. */
  private static void assertMatchesTokenizersJs(String file, Tokenizer tok, boolean nfc) {
    JsonNode expected = EXPECTED.path(file);
    assertEquals(TEXTS.size(), expected.size(), file);
    for (int i = 0; i < TEXTS.size(); i++) {
      String text = TEXTS.get(i);
      int[] ids = ints(expected.get(i));
      assertArrayEquals(ids, tok.encodeWithSpecial(text), file + " text " + i + ": " + text);
      assertEquals(nfc ? Normalizer.normalize(text, Normalizer.Form.NFC) : text, tok.decode(ids), file + " " + i);
    }
  }

  @Test
  void llama3StyleFixtureEncodesAsTokenizersJs() {
    Tokenizer tok = Tokenizers.fromHfTokenizerJson("llama3-style",
        ReferenceBpe.resource(DIR + "llama3-style-tokenizer.json"), "<|end_of_text|>");
    assertEquals(603, tok.vocabSize());
    assertEquals(600, tok.eotId());
    assertMatchesTokenizersJs("llama3-style-tokenizer.json", tok, false);
    // Ordinary encoding leaves special tokens as text but still splits the non-special added token, as HF does.
    assertArrayEquals(new int[] {602}, tok.encode("[[note]]"));
    int[] plain = tok.encode("<|eot_id|>");
    assertTrue(plain.length > 1 && java.util.Arrays.stream(plain).allMatch(id -> id < 599), "eot_id as text");
    assertEquals("<|eot_id|>", tok.decode(plain));
  }

  @Test
  void permutedIdsAndNfcEncodeAsTokenizersJs() {
    Tokenizer tok = Tokenizers.fromHfTokenizerJson("permuted",
        ReferenceBpe.resource(DIR + "permuted-nfc-tokenizer.json"), null);
    assertEquals(599, tok.eotId());
    assertMatchesTokenizersJs("permuted-nfc-tokenizer.json", tok, true);
  }

  @Test
  void gpt2sOwnTokenizerJsonIsTheBuiltInGpt2() {
    Tokenizer tok = Tokenizers.fromHfTokenizerJson("gpt2-hf", gpt2Json(), null);
    assertEquals(Tokenizers.gpt2().hash(), tok.hash());
    assertEquals(50257, tok.vocabSize());
    assertEquals(50256, tok.eotId());
    assertMatchesTokenizersJs("gpt2-tokenizer.json.gz", tok, false);
    String corpus = ReferenceBpe.text("/data/corpora/the-verdict.txt");
    assertArrayEquals(Tokenizers.gpt2().encode(corpus), tok.encode(corpus));
  }

  @Test
  void writtenGpt2IsGpt2sOwnFile() {
    JsonNode ours = json(Tokenizers.toHfTokenizerJson(Tokenizers.gpt2())).path("model");
    JsonNode theirs = json(gpt2Json()).path("model");
    assertEquals(theirs.path("vocab"), ours.path("vocab"));
    assertEquals(theirs.path("merges"), ours.path("merges")); // derived from ranks alone, same order
  }

  @Test
  void writeThenReadKeepsTheTokenizer() {
    for (String file : new String[] {"llama3-style-tokenizer.json", "permuted-nfc-tokenizer.json"}) {
      byte[] original = ReferenceBpe.resource(DIR + file);
      BpeDefinition d = HfTokenizerJson.parse(file, original, eos(file));
      BpeDefinition again = HfTokenizerJson.parse(file, HfTokenizerJson.write(d), eos(file));
      assertEquals(d.hash(), again.hash(), file);
      assertEquals(json(original), json(HfTokenizerJson.write(again)), file);
    }
  }

  private static String eos(String file) {
    return file.startsWith("llama3") ? "<|end_of_text|>" : null;
  }

  @Test
  void refusesWhatItWouldNotReproduce() {
    ObjectNode root = (ObjectNode) json(ReferenceBpe.resource(DIR + "llama3-style-tokenizer.json"));
    ((ObjectNode) root.path("model")).put("byte_fallback", true);
    InputException spm = assertThrows(InputException.class,
        () -> HfTokenizerJson.parse("x/tokenizer.json", root.toString().getBytes(), "<|end_of_text|>"));
    assertTrue(spm.getMessage().startsWith("x/tokenizer.json: unsupported tokenizer: it is a SentencePiece-style BPE"),
        spm.getMessage());
    InputException eos = assertThrows(InputException.class, () -> HfTokenizerJson.parse("x/tokenizer.json",
        ReferenceBpe.resource(DIR + "llama3-style-tokenizer.json"), null));
    assertTrue(eos.getMessage().contains("has no added token '<|endoftext|>' to end texts with"), eos.getMessage());
    ObjectNode digits = (ObjectNode) json(ReferenceBpe.resource(DIR + "llama3-style-tokenizer.json"));
    digits.putObject("pre_tokenizer").put("type", "Digits");
    InputException pre = assertThrows(InputException.class,
        () -> HfTokenizerJson.parse("x/tokenizer.json", digits.toString().getBytes(), "<|end_of_text|>"));
    assertTrue(pre.getMessage().contains("pre_tokenizer {\"type\":\"Digits\"} is not ByteLevel"), pre.getMessage());
  }

  /** Llama-3's post_processor as its tokenizer.json writes it: ByteLevel, then <|begin_of_text|> before the text. */
  private static ObjectNode withBos(String bosEntry) {
    ObjectNode root = (ObjectNode) json(ReferenceBpe.resource(DIR + "llama3-style-tokenizer.json"));
    root.set("post_processor", json(("{\"type\": \"Sequence\", \"processors\": ["
        + "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},"
        + "{\"type\": \"TemplateProcessing\", \"single\": [" + bosEntry + "],"
        + " \"pair\": [], \"special_tokens\": {\"<|begin_of_text|>\": {\"id\": \"<|begin_of_text|>\","
        + " \"ids\": [599], \"tokens\": [\"<|begin_of_text|>\"]}}}]}").getBytes()));
    return root;
  }

  @Test
  void llama3sPostProcessorGivesTheBosPromptsStartWith() {
    String leading = "{\"SpecialToken\": {\"id\": \"<|begin_of_text|>\", \"type_id\": 0}},"
        + " {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}";
    byte[] file = withBos(leading).toString().getBytes();
    Tokenizer tok = Tokenizers.fromHfTokenizerJson("llama3-bos", file, "<|end_of_text|>");
    assertEquals(599, tok.bosId());
    int[] text = tok.encode("Hello world");
    int[] prompt = tok.encodePrompt("Hello world");
    assertEquals(text.length + 1, prompt.length);
    assertEquals(599, prompt[0]);
    assertArrayEquals(text, java.util.Arrays.copyOfRange(prompt, 1, prompt.length));
    Tokenizer plain = Tokenizers.fromHfTokenizerJson("llama3-style", ReferenceBpe.resource(DIR
        + "llama3-style-tokenizer.json"), "<|end_of_text|>");
    assertEquals(-1, plain.bosId(), "a ByteLevel post-processor adds nothing");
    assertEquals(plain.hash(), tok.hash(), "the BOS is not part of the vocabulary");
    // written back, it is read back with the same BOS, in the shape Llama-3 writes
    BpeDefinition d = HfTokenizerJson.parse("x", file, "<|end_of_text|>");
    byte[] written = HfTokenizerJson.write(d);
    assertEquals(599, HfTokenizerJson.parse("x", written, "<|end_of_text|>").bosId());
    JsonNode template = json(written).path("post_processor").path("processors").get(1);
    assertEquals("TemplateProcessing", template.path("type").asText());
    assertEquals("<|begin_of_text|>", template.path("single").get(0).path("SpecialToken").path("id").asText());

    String trailing = "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
        + " {\"SpecialToken\": {\"id\": \"<|begin_of_text|>\", \"type_id\": 0}}";
    InputException after = assertThrows(InputException.class, () -> HfTokenizerJson.parse("x/tokenizer.json",
        withBos(trailing).toString().getBytes(), "<|end_of_text|>"));
    assertTrue(after.getMessage().contains("post_processor puts {\"SpecialToken\"") && after.getMessage()
        .contains("after the text"), after.getMessage());
    ObjectNode roberta = withBos(leading);
    roberta.putObject("post_processor").put("type", "RobertaProcessing");
    InputException other = assertThrows(InputException.class, () -> HfTokenizerJson.parse("x/tokenizer.json",
        roberta.toString().getBytes(), "<|end_of_text|>"));
    assertTrue(other.getMessage().contains("post_processor RobertaProcessing adds ids around every text"),
        other.getMessage());
  }
}
