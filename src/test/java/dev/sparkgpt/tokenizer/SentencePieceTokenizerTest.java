package dev.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.io.InputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * SentencePiece tokenizer.model reading, against ids from Google's sentencepiece itself (see the fixtures' README):
 * a Llama-2-style model (BPE, byte fallback, identity normaliser, extra spaces kept, digits split, a user-defined
 * symbol) and a plain one (no byte fallback: runs of unknown characters become one unknown id; extra spaces removed).
 */
class SentencePieceTokenizerTest {
  private static final Path DIR = Path.of("src/test/resources/tokenizer/sentencepiece");
  private static final JsonNode EXPECTED = read(DIR.resolve("expected-ids.json"));

  private static JsonNode read(Path file) {
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static Tokenizer load(String model) throws Exception {
    return Tokenizers.fromSentencePiece(model, Files.readAllBytes(DIR.resolve(model)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama2-style.model", "plain-bpe.model"})
  void idsAreSentencepiecesOwnAndDecodeGivesItsText(String model) throws Exception {
    Tokenizer tok = load(model);
    JsonNode texts = EXPECTED.path("texts");
    assertTrue(texts.size() >= 22, "fixtures: " + texts.size());
    for (int i = 0; i < texts.size(); i++) {
      String text = texts.get(i).asText();
      int[] want = ids(EXPECTED.path("ids").path(model).get(i));
      int[] got = tok.encode(text);
      assertArrayEquals(want, got, model + " text " + i + " " + text);
      // sentencepiece's DecodeIds drops the dummy prefix's space; our decode concatenates and keeps it
      String lead = got.length > 0 && tok.decode(new int[] {got[0]}).startsWith(" ") ? " " : "";
      assertEquals(lead + EXPECTED.path("decoded").path(model).get(i).asText(), tok.decode(got), model + " " + i);
    }
  }

  @Test
  void aPromptStartsWithBosWhereTheModelHasOneAndGpt2PromptsAreTheirText() throws Exception {
    Tokenizer tok = load("llama2-style.model");
    assertEquals(1, tok.bosId(), "<s>, as in Llama-2");
    String text = EXPECTED.path("texts").get(3).asText();
    int[] plain = tok.encode(text);
    int[] prompt = tok.encodePrompt(text);
    assertEquals(plain.length + 1, prompt.length);
    assertEquals(1, prompt[0]);
    assertArrayEquals(plain, java.util.Arrays.copyOfRange(prompt, 1, prompt.length));
    assertEquals(tok.decode(plain), tok.decode(prompt), "<s> decodes to nothing");
    Tokenizer gpt2 = Tokenizers.load("gpt2");
    assertEquals(-1, gpt2.bosId());
    assertArrayEquals(gpt2.encode(text), gpt2.encodePrompt(text));
  }

  @Test
  void theLlama2StyleModelsShape() throws Exception {
    Tokenizer tok = load("llama2-style.model");
    assertEquals(1200, tok.vocabSize());
    assertEquals(2, tok.eotId()); // </s>, as in Llama-2
    assertEquals("", tok.decode(new int[] {1, 2})); // control pieces have no text
    assertArrayEquals(new int[] {14}, Arrays.copyOfRange(tok.encode("a\nb"), 1, 2)); // <0x0A>: 4 + 0x0A
    assertEquals(load("llama2-style.model").hash(), tok.hash());
    assertNotEquals(load("plain-bpe.model").hash(), tok.hash());
  }

  @Test
  void controlPiecesInTextAreTheirIdsWithSpecialAndPlainTextWithout() throws Exception {
    Tokenizer tok = load("llama2-style.model");
    String text = "<s>Hi there</s>more";
    List<Integer> want = new ArrayList<>(List.of(1));
    Arrays.stream(tok.encode("Hi there")).forEach(want::add);
    want.add(2);
    Arrays.stream(tok.encode("more")).forEach(want::add);
    assertEquals(want, Arrays.stream(tok.encodeWithSpecial(text)).boxed().toList());
    assertTrue(Arrays.stream(tok.encode(text)).noneMatch(id -> id == 1 || id == 2));
  }

  @Test
  void aTextCutWhereTheSplitterAllowsEncodesLikeTheWhole() throws Exception {
    for (String model : new String[] {"llama2-style.model", "plain-bpe.model"}) {
      Tokenizer tok = load(model);
      String text = EXPECTED.path("texts").get(11).asText() + "\nline two, with  two spaces\n" + "and more words.";
      for (int cut = 1; cut < text.length(); cut++) {
        if (!TextSplitter.isSafeCut(text, cut)) {
          continue;
        }
        int[] head = tok.encode(text.substring(0, cut));
        int[] tail = tok.encodeContinuation(text.substring(cut));
        int[] joined = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, joined, head.length, tail.length);
        assertArrayEquals(tok.encode(text), joined, model + " cut at " + cut);
      }
    }
  }

  @Test
  void modelsThatWouldNotEncodeAlikeAreRefusedByName() throws Exception {
    InputException unigram = assertThrows(InputException.class, () -> load("unigram.model"));
    assertEquals("unigram.model/tokenizer.model: unsupported SentencePiece model: its model_type is UNIGRAM (T5/ALBERT"
        + " style); SentencePiece BPE (Llama-2, Mistral) is read. Fix: pass --tokenizer with the model's tokenizer in a"
        + " form SparkGPT reads (SentencePiece BPE tokenizer.model, byte-level BPE tokenizer.json, encoder.json +"
        + " vocab.bpe, or a bundled name)", unigram.getMessage());
    InputException rules = assertThrows(InputException.class, () -> load("rules-bpe.model"));
    assertTrue(rules.getMessage().contains("its normalizer 'user_defined' applies a rule table, which is not "
        + "reproduced"), rules.getMessage());
    InputException json = assertThrows(InputException.class, () -> Tokenizers.fromSentencePiece("x",
        "{\"model\": {}}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertTrue(json.getMessage().startsWith("x/tokenizer.model: is not a SentencePiece model ("), json.getMessage());
    assertTrue(json.getMessage().endsWith("pass the directory's tokenizer.json instead)"), json.getMessage());
  }

  private static int[] ids(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }
}
