package dev.sparkgpt.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code tokenizer.json} for byte-level BPE (GPT-2, Llama-3, Qwen-2 and their kin): read into a
 * {@link BpeDefinition}, and written from one. What the file may say is checked, and anything this reader would
 * encode differently from the {@code tokenizers} library (dropout, byte fallback, a Metaspace pre-tokenizer, a
 * normaliser other than NFC, stripped added tokens) is refused by name rather than approximated.
 */
final class HfTokenizerJson {
  static final String FILE = "tokenizer.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private HfTokenizerJson() {}

  /**
   * Parses {@code json}; {@code eosToken} (from tokenizer_config.json, may be null) names the end-of-text token, else
   * {@code <|endoftext|>} must be an added token. {@code source} names the file in errors.
   */
  static BpeDefinition parse(String source, byte[] json, String eosToken) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw error(source, "is not valid JSON (" + e.getMessage() + ")");
    }
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText())) {
      throw unsupported(source, "model.type is '" + model.path("type").asText("(missing)") + "', not 'BPE'");
    }
    if (isSentencePieceStyle(root)) {
      throw unsupported(source, "it is a SentencePiece-style BPE (byte_fallback or a non-ByteLevel decoder), not"
          + " byte-level BPE; Llama-2-style directories also hold tokenizer.model, which is read instead");
    }
    if (model.path("dropout").asDouble(0) != 0 || !model.path("continuing_subword_prefix").asText("").isEmpty()
        || !model.path("end_of_word_suffix").asText("").isEmpty()) {
      throw unsupported(source, "model sets dropout, continuing_subword_prefix or end_of_word_suffix");
    }
    boolean nfc = normalizer(source, root.path("normalizer"));
    String pattern = pattern(source, root.path("pre_tokenizer"));

    JsonNode vocab = model.path("vocab");
    JsonNode added = root.path("added_tokens");
    int size = 0;
    for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
      size = Math.max(size, it.next().asInt() + 1);
    }
    for (JsonNode a : added) {
      size = Math.max(size, a.path("id").asInt() + 1);
    }
    byte[][] tokens = new byte[size][];
    int[] ranks = new int[size];
    Arrays.fill(ranks, -1);
    Map<String, Integer> special = new LinkedHashMap<>();
    Map<String, Integer> always = new LinkedHashMap<>();
    for (JsonNode a : added) {
      String content = a.path("content").asText();
      int id = a.path("id").asInt(-1);
      if (id < 0 || content.isEmpty()) {
        throw error(source, "added_tokens entry " + a + " lacks an id or content");
      }
      if (a.path("lstrip").asBoolean(false) || a.path("rstrip").asBoolean(false)
          || a.path("single_word").asBoolean(false)) {
        throw unsupported(source, "added token '" + content + "' sets lstrip, rstrip or single_word");
      }
      tokens[id] = ByteAlphabet.utf8(content);
      (a.path("special").asBoolean(false) ? special : always).put(content, id);
    }
    Map<ByteBuffer, Integer> idOf = new HashMap<>(size * 2);
    Map<String, Integer> idOfText = new HashMap<>(size * 2);
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id = e.getValue().asInt();
      idOfText.put(e.getKey(), id);
      if (tokens[id] != null) {
        if (!special.containsValue(id) && !always.containsValue(id)) {
          throw error(source, "id " + id + " is given to two vocab entries");
        }
        continue; // an added token also listed in the vocabulary (GPT-2's <|endoftext|>)
      }
      byte[] bytes = ByteAlphabet.toBytes(e.getKey());
      if (bytes == null || bytes.length == 0) {
        throw unsupported(source, "vocab entry '" + e.getKey() + "' is not written in the ByteLevel alphabet");
      }
      tokens[id] = bytes;
      idOf.put(ByteBuffer.wrap(bytes), id);
    }
    int[] mergeResult = merges(source, model.path("merges"), idOfText, tokens, idOf);
    assignRanks(source, tokens, ranks, mergeResult, special, always);
    String eos = eosToken != null ? eosToken : BpeVocabulary.ENDOFTEXT;
    Integer eot = special.containsKey(eos) ? special.get(eos) : always.get(eos);
    if (eot == null) {
      throw error(source, "has no added token '" + eos + "' to end texts with (set eos_token in tokenizer_config.json"
          + " to one of its added tokens)");
    }
    if (always.remove(eos) != null) {
      special.put(eos, eot);
    }
    return new BpeDefinition(pattern, nfc, tokens, ranks, special, always, eot,
        bos(source, root.path("post_processor"), special, always));
  }

  /**
   * The id the post-processor puts before a single text (Llama-3's {@code <|begin_of_text|>}), or -1. Read:
   * none, ByteLevel (ids unchanged), TemplateProcessing whose {@code single} is an optional leading SpecialToken
   * then the text, or a Sequence of those; anything else adds ids this reader would not, and is refused.
   */
  private static int bos(String source, JsonNode p, Map<String, Integer> special, Map<String, Integer> always) {
    if (p.isMissingNode() || p.isNull()) {
      return -1;
    }
    String type = p.path("type").asText();
    if ("Sequence".equals(type)) {
      int bos = -1;
      for (JsonNode step : p.path("processors")) {
        int b = bos(source, step, special, always);
        bos = b >= 0 ? b : bos;
      }
      return bos;
    }
    if ("ByteLevel".equals(type)) {
      return -1;
    }
    if (!"TemplateProcessing".equals(type)) {
      throw unsupported(source, "post_processor " + type + " adds ids around every text (only ByteLevel and a"
          + " TemplateProcessing that puts one special token first are read)");
    }
    int bos = -1;
    JsonNode single = p.path("single");
    for (int i = 0; i < single.size(); i++) {
      JsonNode piece = single.get(i);
      if (piece.has("Sequence")) {
        continue;
      }
      String name = piece.path("SpecialToken").path("id").asText("");
      if (i != 0 || name.isEmpty()) {
        throw unsupported(source, "post_processor puts " + piece + " after the text (only a leading special token,"
            + " a BOS, is read)");
      }
      JsonNode ids = p.path("special_tokens").path(name).path("ids");
      Integer id = ids.size() == 1 ? Integer.valueOf(ids.get(0).asInt())
          : special.containsKey(name) ? special.get(name) : always.get(name);
      if (id == null) {
        throw error(source, "post_processor's special token '" + name + "' is not one of its added tokens");
      }
      bos = id;
    }
    return bos;
  }

  private static boolean normalizer(String source, JsonNode n) {
    if (n.isMissingNode() || n.isNull()) {
      return false;
    }
    if ("NFC".equals(n.path("type").asText())) {
      return true;
    }
    throw unsupported(source, "normalizer " + n.path("type").asText(n.toString()) + " (only none or NFC is read)");
  }

  /** The regex of a GPT-2 ByteLevel pre-tokenizer, or of a Split(Isolated) + ByteLevel(use_regex false) sequence. */
  private static String pattern(String source, JsonNode p) {
    if (isByteLevel(p, true)) {
      return PreTokenizer.PATTERN.pattern();
    }
    JsonNode steps = p.path("pretokenizers");
    if ("Sequence".equals(p.path("type").asText()) && steps.size() == 2 && isByteLevel(steps.get(1), false)) {
      JsonNode split = steps.get(0);
      String regex = split.path("pattern").path("Regex").asText(null);
      if ("Split".equals(split.path("type").asText()) && regex != null
          && "Isolated".equals(split.path("behavior").asText()) && !split.path("invert").asBoolean(false)) {
        return regex;
      }
    }
    throw unsupported(source, "pre_tokenizer " + p + " is not ByteLevel, nor Split(Regex, Isolated) then"
        + " ByteLevel(use_regex false), without add_prefix_space");
  }

  private static boolean isByteLevel(JsonNode p, boolean useRegex) {
    return "ByteLevel".equals(p.path("type").asText()) && !p.path("add_prefix_space").asBoolean(false)
        && p.path("use_regex").asBoolean(true) == useRegex;
  }

  /** The merges ("a b" strings or [a, b] pairs) as result ids in rank order, each checked against the vocabulary. */
  private static int[] merges(String source, JsonNode merges, Map<String, Integer> idOfText, byte[][] tokens,
      Map<ByteBuffer, Integer> idOf) {
    int[] result = new int[merges.size()];
    for (int i = 0; i < result.length; i++) {
      JsonNode m = merges.get(i);
      String left;
      String right;
      if (m.isArray() && m.size() == 2) {
        left = m.get(0).asText();
        right = m.get(1).asText();
      } else {
        String[] parts = m.asText().split(" ", -1);
        if (parts.length != 2) {
          throw error(source, "merge " + i + " '" + m.asText() + "' is not two tokens");
        }
        left = parts[0];
        right = parts[1];
      }
      Integer l = idOfText.get(left);
      Integer r = idOfText.get(right);
      if (l == null || r == null) {
        throw error(source, "merge " + i + " names '" + (l == null ? left : right) + "', which is not in model.vocab");
      }
      byte[] joined = new byte[tokens[l].length + tokens[r].length];
      System.arraycopy(tokens[l], 0, joined, 0, tokens[l].length);
      System.arraycopy(tokens[r], 0, joined, tokens[l].length, tokens[r].length);
      Integer id = idOf.get(ByteBuffer.wrap(joined));
      if (id == null) {
        throw error(source, "merge " + i + " '" + left + " " + right + "' makes a token that is not in model.vocab");
      }
      result[i] = id;
    }
    return result;
  }

  /**
   * BPE ranks as tiktoken (and JTokkit) use them: the id itself when merge results come in increasing id order,
   * else bytes first and merge results by merge number. Every ordinary token must be one byte or made by exactly
   * one merge; otherwise merging by rank would differ from merging by the merge list.
   */
  private static void assignRanks(String source, byte[][] tokens, int[] ranks, int[] mergeResult,
      Map<String, Integer> special, Map<String, Integer> always) {
    boolean[] isAdded = new boolean[tokens.length];
    special.values().forEach(id -> isAdded[id] = true);
    always.values().forEach(id -> isAdded[id] = true);
    boolean[] made = new boolean[tokens.length];
    boolean idsAreRanks = true;
    for (int i = 0; i < mergeResult.length; i++) {
      int id = mergeResult[i];
      if (made[id] || tokens[id].length == 1 || isAdded[id]) {
        throw unsupported(source, "token id " + id + " is made by more than one merge (or is a byte or added token)");
      }
      made[id] = true;
      idsAreRanks &= i == 0 || id > mergeResult[i - 1];
    }
    int bytes = 0;
    for (int id = 0; id < tokens.length; id++) {
      if (isAdded[id] || tokens[id] == null) {
        continue; // an added token, or an id no token has (cl100k_base leaves some unused)
      }
      if (tokens[id].length == 1) {
        ranks[id] = idsAreRanks ? id : bytes;
        bytes++;
      } else if (!made[id]) {
        throw unsupported(source, "token id " + id + " is made by no merge, so BPE could never produce it");
      }
    }
    if (bytes != 256) {
      throw unsupported(source, "the vocabulary holds " + bytes + " single-byte tokens, not all 256");
    }
    for (int i = 0; i < mergeResult.length; i++) {
      ranks[mergeResult[i]] = idsAreRanks ? mergeResult[i] : 256 + i;
    }
  }

  /**
   * A tokenizer.json that Hugging Face's {@code tokenizers} (AutoTokenizer, vLLM) reads as the same tokenizer: the
   * merge list is derived from the ranks (each token split as BPE with lower ranks splits it), added tokens are
   * written special, and ignore_merges is set (tiktoken's whole-word lookup) unless the definition is GPT-2's shape.
   */
  static byte[] write(BpeDefinition d) {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    Map<String, Integer> all = new LinkedHashMap<>(d.added());
    all.putAll(d.special());
    all.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> added.addObject()
        .put("id", e.getValue()).put("content", e.getKey()).put("single_word", false).put("lstrip", false)
        .put("rstrip", false).put("normalized", false).put("special", d.special().containsKey(e.getKey())));
    if (d.nfc()) {
      root.putObject("normalizer").put("type", "NFC");
    } else {
      root.putNull("normalizer");
    }
    if (d.pattern().equals(PreTokenizer.PATTERN.pattern())) {
      byteLevel(root.putObject("pre_tokenizer"), false, true);
    } else {
      ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
      ArrayNode steps = seq.putArray("pretokenizers");
      ObjectNode split = steps.addObject().put("type", "Split");
      split.putObject("pattern").put("Regex", d.pattern());
      split.put("behavior", "Isolated").put("invert", false);
      byteLevel(steps.addObject(), false, false);
    }
    if (d.bosId() < 0) {
      byteLevel(root.putObject("post_processor"), true, true).put("trim_offsets", false);
    } else { // as Llama-3 writes it: ByteLevel, then the BOS before each text
      ArrayNode steps = root.putObject("post_processor").put("type", "Sequence").putArray("processors");
      byteLevel(steps.addObject(), true, true).put("trim_offsets", false);
      String bos = all.entrySet().stream().filter(e -> e.getValue() == d.bosId()).map(Map.Entry::getKey)
          .findFirst().orElseThrow(() -> new IllegalArgumentException("bos id " + d.bosId() + " is no added token"));
      ObjectNode template = steps.addObject().put("type", "TemplateProcessing");
      ArrayNode single = template.putArray("single");
      ArrayNode pair = template.putArray("pair");
      for (int text = 0; text < 2; text++) {
        for (ArrayNode list : text == 0 ? List.of(single, pair) : List.of(pair)) {
          list.addObject().putObject("SpecialToken").put("id", bos).put("type_id", text);
          list.addObject().putObject("Sequence").put("id", text == 0 ? "A" : "B").put("type_id", text);
        }
      }
      ObjectNode entry = template.putObject("special_tokens").putObject(bos).put("id", bos);
      entry.putArray("ids").add(d.bosId());
      entry.putArray("tokens").add(bos);
    }
    byteLevel(root.putObject("decoder"), true, true);
    ObjectNode model = root.putObject("model").put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
        .put("byte_fallback", false);
    if (!d.isGpt2Shape()) {
      model.put("ignore_merges", true);
    }
    ObjectNode vocab = model.putObject("vocab");
    for (int id = 0; id < d.tokens().length; id++) {
      if (d.tokens()[id] != null) {
        vocab.put(d.ranks()[id] >= 0 ? ByteAlphabet.toText(d.tokens()[id]) : new String(d.tokens()[id],
            StandardCharsets.UTF_8), id);
      }
    }
    ArrayNode merges = model.putArray("merges");
    for (int[] m : MergeDerivation.merges(d)) {
      merges.add(ByteAlphabet.toText(d.tokens()[m[0]]) + " " + ByteAlphabet.toText(d.tokens()[m[1]]));
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialise tokenizer.json", e);
    }
  }

  private static ObjectNode byteLevel(ObjectNode node, boolean addPrefixSpace, boolean useRegex) {
    return node.put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace).put("trim_offsets", true)
        .put("use_regex", useRegex);
  }

  /** Whether a tokenizer.json's BPE is SentencePiece-style: byte_fallback, or a decoder other than ByteLevel. */
  static boolean isSentencePieceStyle(JsonNode root) {
    return root.path("model").path("byte_fallback").asBoolean(false)
        || !"ByteLevel".equals(root.path("decoder").path("type").asText());
  }

  /** As above, for the file's bytes; false for bytes that are not JSON (parsing reports those). */
  static boolean isSentencePieceStyle(byte[] json) {
    try {
      return isSentencePieceStyle(JSON.readTree(json));
    } catch (IOException e) {
      return false;
    }
  }

  private static InputException error(String source, String problem) {
    return new InputException(source + ": " + problem + ". Fix: use the model's own, unedited " + FILE);
  }

  private static InputException unsupported(String source, String problem) {
    return new InputException(source + ": unsupported tokenizer: " + problem + ". Fix: pass --tokenizer with the"
        + " model's tokenizer in a form SparkGPT reads (byte-level BPE tokenizer.json, SentencePiece tokenizer.model,"
        + " encoder.json + vocab.bpe, or a bundled name)");
  }
}
