package dev.sparkgpt.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the tiny tokenizer.json fixtures under src/test/resources/tokenizer/hf (see README.md there): a BPE
 * vocabulary trained by {@link BpeTrainer} on a small corpus, dressed as a Llama-3-style tokenizer (Llama-3's regex,
 * its special tokens, one non-special added token) and as one with NFC, cl100k's regex and ids that are not ranks.
 * Run by hand: {@code java -cp ... dev.sparkgpt.tokenizer.TinyTokenizerFixtures CORPUS OUT_DIR}; the expected ids
 * come from Hugging Face's own tokenizers.js (encode.mjs), never from this code.
 */
public final class TinyTokenizerFixtures {
  /** Llama-3's pre-tokenizer regex, as its tokenizer.json writes it. */
  static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
      + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private TinyTokenizerFixtures() {}

  public static void main(String[] args) throws Exception {
    BpeVocabulary v = BpeTrainer.train(BpeTrainer.countWords(Files.readString(Path.of(args[0]))), 600);
    Path out = Path.of(args[1]);
    Files.write(out.resolve("llama3-style-tokenizer.json"), HfTokenizerJson.write(llama3Style(v)));
    Files.write(out.resolve("permuted-nfc-tokenizer.json"), HfTokenizerJson.write(permutedNfc(v)));
  }

  /** Ordinary tokens at ids 0..n-2 (ids are ranks), then 3 special tokens and the added token "[[note]]". */
  static BpeDefinition llama3Style(BpeVocabulary v) {
    int n = v.size() - 1;
    byte[][] tokens = new byte[n + 4][];
    int[] ranks = new int[n + 4];
    int[] old = v.ranks();
    for (int id = 0, at = 0; id < v.size(); id++) {
      if (id != v.eotId()) {
        tokens[at] = v.tokenBytes(id);
        ranks[at] = old[id];
        at++;
      }
    }
    Map<String, Integer> special = new LinkedHashMap<>();
    String[] names = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
    for (int i = 0; i < names.length; i++) {
      special.put(names[i], n + i);
      tokens[n + i] = ByteAlphabet.utf8(names[i]);
      ranks[n + i] = -1;
    }
    tokens[n + 3] = ByteAlphabet.utf8("[[note]]");
    ranks[n + 3] = -1;
    return new BpeDefinition(LLAMA3_PATTERN, false, tokens, ranks, special, Map.of("[[note]]", n + 3), n + 1);
  }

  /** The same vocabulary with ordinary ids reversed (so merge order is not id order), NFC and cl100k's regex. */
  static BpeDefinition permutedNfc(BpeVocabulary v) {
    BpeDefinition base = llama3Style(v);
    int n = v.size() - 1;
    byte[][] tokens = base.tokens().clone();
    int[] ranks = base.ranks().clone();
    for (int id = 0; id < n; id++) {
      tokens[n - 1 - id] = base.tokens()[id];
      ranks[n - 1 - id] = base.ranks()[id];
    }
    tokens[n] = ByteAlphabet.utf8(BpeVocabulary.ENDOFTEXT);
    byte[][] trimmed = java.util.Arrays.copyOf(tokens, n + 1);
    int[] trimmedRanks = java.util.Arrays.copyOf(ranks, n + 1);
    return new BpeDefinition(Tokenizers.CL100K_PATTERN, true, trimmed, trimmedRanks,
        Map.of(BpeVocabulary.ENDOFTEXT, n), Map.of(), n);
  }
}
