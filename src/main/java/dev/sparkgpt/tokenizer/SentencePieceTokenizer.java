package dev.sparkgpt.tokenizer;

import com.knuddels.jtokkit.api.IntArrayList;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.SentencePieceModel.Piece;
import dev.sparkgpt.tokenizer.SentencePieceModel.Type;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A SentencePiece BPE model (Llama-2's {@code tokenizer.model}, Mistral's), encoding as Google's sentencepiece does:
 * the identity normaliser (optional removal of extra spaces, the dummy prefix, spaces as U+2581), the text split
 * into characters and user-defined symbols, then the adjacent pair whose concatenation is the highest-scored piece
 * merged first (the leftmost on ties), unused pieces re-split, and pieces outside the vocabulary written as their
 * UTF-8 bytes (byte fallback) or as one unknown id per run. Ids are those of sentencepiece 0.1.97 on the fixtures of
 * src/test/resources/tokenizer/sentencepiece. No BOS is added: {@link #encode} is sentencepiece's EncodeAsIds.
 *
 * <p>Decoding concatenates, as every caller here needs (a prompt's text plus its continuation's, streamed chunks):
 * U+2581 becomes a space even at the start, so a text's ids decode to the text after one space where sentencepiece's
 * DecodeIds drops it. Unigram models and normalisers with a rule table (nmt_nfkc) are refused, not approximated.
 */
final class SentencePieceTokenizer implements Tokenizer {
  private static final char SPACE = '\u2581';

  private final String name;
  private final String hash;
  private final SentencePieceModel model;
  private final byte[] file;
  private final Type[] types;
  private final float[] scores;
  private final Map<String, Integer> mergeable = new HashMap<>();
  private final Map<String, Integer> reserved = new HashMap<>();
  private final int[] byteIds = new int[256];
  private final byte[][] surfaces;
  private final Pattern userSymbols;
  private final Pattern controls;
  private final int unkId;
  private final int eosId;

  private SentencePieceTokenizer(String name, String source, SentencePieceModel model, byte[] file) {
    this.name = name;
    this.file = file;
    this.model = model;
    List<Piece> pieces = model.pieces();
    types = new Type[pieces.size()];
    scores = new float[pieces.size()];
    surfaces = new byte[pieces.size()][];
    int unk = -1;
    java.util.Arrays.fill(byteIds, -1);
    for (int id = 0; id < pieces.size(); id++) {
      Piece p = pieces.get(id);
      types[id] = p.type();
      scores[id] = p.score();
      boolean normal = p.type() == Type.NORMAL || p.type() == Type.USER_DEFINED || p.type() == Type.UNUSED;
      if ((normal ? mergeable : reserved).putIfAbsent(p.text(), id) != null) {
        throw unsupported(source, "piece '" + p.text() + "' is defined twice");
      }
      surfaces[id] = switch (p.type()) {
        case CONTROL -> new byte[0];
        case UNKNOWN -> model.unkSurface().getBytes(StandardCharsets.UTF_8);
        case BYTE -> new byte[] {(byte) byteOf(source, p.text())};
        default -> (model.escapeWhitespaces() ? p.text().replace(SPACE, ' ') : p.text())
            .getBytes(StandardCharsets.UTF_8);
      };
      if (p.type() == Type.BYTE) {
        byteIds[surfaces[id][0] & 0xff] = id;
      } else if (p.type() == Type.UNKNOWN) {
        unk = id;
      }
    }
    if (unk < 0) {
      throw unsupported(source, "it defines no unknown piece");
    }
    if (model.byteFallback() && java.util.Arrays.stream(byteIds).anyMatch(i -> i < 0)) {
      throw unsupported(source, "byte_fallback is set but not all 256 byte pieces <0x00>..<0xFF> are defined");
    }
    this.unkId = unk;
    this.eosId = model.eosId();
    this.userSymbols = alternation(pieces, Type.USER_DEFINED);
    this.controls = alternation(pieces, Type.CONTROL, Type.UNKNOWN);
    this.hash = digest(model);
  }

  /** The tokenizer of a tokenizer.model's bytes, its end of text the trainer's eos_id; {@code source} names it. */
  static SentencePieceTokenizer of(String name, String source, byte[] file) {
    SentencePieceModel model = SentencePieceModel.parse(source, file);
    int eosId = model.eosId();
    if (model.modelType() != SentencePieceModel.BPE) {
      throw unsupported(source, "its model_type is " + (model.modelType() == SentencePieceModel.UNIGRAM ? "UNIGRAM"
          + " (T5/ALBERT style)" : String.valueOf(model.modelType())) + "; SentencePiece BPE (Llama-2, Mistral) is read");
    }
    if (model.hasRules()) {
      throw unsupported(source, "its normalizer '" + model.normalizerName() + "' applies a rule table, which is not"
          + " reproduced; the identity normalizer (Llama-2, Mistral) is read");
    }
    if (model.treatWhitespaceAsSuffix()) {
      throw unsupported(source, "treat_whitespace_as_suffix is set");
    }
    if (eosId < 0 || eosId >= model.pieces().size() || model.pieces().get(eosId).type() != Type.CONTROL) {
      throw unsupported(source, "eos_id " + eosId + " is not a control piece, so there is no end-of-text id");
    }
    return new SentencePieceTokenizer(name, source, model, file.clone());
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String hash() {
    return hash;
  }

  @Override
  public int vocabSize() {
    return types.length;
  }

  @Override
  public int eotId() {
    return eosId;
  }

  @Override
  public int[] encode(String text) {
    return bpe(normalize(Objects.requireNonNull(text, "text"), true));
  }

  @Override
  public int[] encodeContinuation(String text) {
    return bpe(normalize(Objects.requireNonNull(text, "text"), false));
  }

  /** Control pieces ({@code <s>}, {@code </s>}) and {@code <unk>} in the text become their ids, as in Hugging Face. */
  @Override
  public int[] encodeWithSpecial(String text) {
    Matcher m = controls.matcher(Objects.requireNonNull(text, "text"));
    IntArrayList out = new IntArrayList();
    int start = 0;
    while (m.find()) {
      addAll(out, encode(text.substring(start, m.start())));
      out.add(reserved.get(m.group()));
      start = m.end();
    }
    addAll(out, encode(text.substring(start)));
    return out.toArray();
  }

  /** The tokenizer.model this tokenizer was read from (for exports). */
  byte[] modelBytes() {
    return file.clone();
  }

  /** The piece of {@code id} as the model writes it ({@code <s>}, {@code ▁the}). */
  String piece(int id) {
    return model.pieces().get(id).text();
  }

  /** The model's bos id, or -1 when it has none. */
  @Override
  public int bosId() {
    int bos = model.bosId();
    return bos >= 0 && bos < types.length && types[bos] == Type.CONTROL ? bos : -1;
  }

  /** The unknown piece's id. */
  int unkId() {
    return unkId;
  }

  @Override
  public String decode(int[] ids) {
    return Utf8.decode(decodeBytes(ids));
  }

  @Override
  public byte[] decodeBytes(int[] ids) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= surfaces.length) {
        throw new IllegalArgumentException("token id " + ids[i] + " (position " + i + ") is out of range: vocabulary '"
            + name + "' has " + surfaces.length + " ids, 0.." + (surfaces.length - 1));
      }
      out.writeBytes(surfaces[ids[i]]);
    }
    return out.toByteArray();
  }

  /** sentencepiece's identity normaliser; {@code start} says whether this is the text's start (dummy prefix). */
  private String normalize(String text, boolean start) {
    String t = text;
    if (model.removeExtraWhitespaces()) {
      t = t.replaceAll(" {2,}", " ");
      t = t.replaceAll(start ? "\\A | \\z" : " \\z", "");
    }
    if (t.isEmpty()) {
      return t;
    }
    char space = model.escapeWhitespaces() ? SPACE : ' ';
    return (start && model.addDummyPrefix() ? String.valueOf(space) : "") + t.replace(' ', space);
  }

  private int[] bpe(String s) {
    int n = 0;
    int[] from = new int[s.length() + 1];
    boolean[] frozen = new boolean[s.length()];
    Matcher user = userSymbols == null ? null : userSymbols.matcher(s);
    for (int at = 0; at < s.length(); n++) {
      from[n] = at;
      if (user != null && user.region(at, s.length()).lookingAt()) {
        frozen[n] = true;
        at = user.end();
      } else {
        at += Character.charCount(s.codePointAt(at));
      }
    }
    from[n] = s.length();
    int[] end = new int[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      end[i] = from[i + 1];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<int[]> agenda = new PriorityQueue<>(Comparator.<int[]>comparingDouble(p -> -scores[p[2]])
        .thenComparingInt(p -> p[0])); // {left, right, id, length}
    Map<String, String[]> unusedSplits = new HashMap<>();
    for (int i = 1; i < n; i++) {
      pair(s, i - 1, i, from, end, frozen, agenda, unusedSplits);
    }
    while (!agenda.isEmpty()) {
      int[] top = agenda.poll();
      int l = top[0];
      int r = top[1];
      if (end[l] == from[l] || end[r] == from[r] || end[r] - from[l] != top[3] || next[l] != r) {
        continue; // stale
      }
      end[l] = end[r];
      from[r] = end[r]; // emptied
      next[l] = next[r];
      if (next[r] >= 0) {
        prev[next[r]] = l;
      }
      pair(s, prev[l], l, from, end, frozen, agenda, unusedSplits);
      pair(s, l, next[l], from, end, frozen, agenda, unusedSplits);
    }
    IntArrayList out = new IntArrayList();
    for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
      emit(s.substring(from[i], end[i]), unusedSplits, out);
    }
    return out.toArray();
  }

  private void pair(String s, int l, int r, int[] from, int[] end, boolean[] frozen, PriorityQueue<int[]> agenda,
      Map<String, String[]> unusedSplits) {
    if (l < 0 || r < 0 || frozen[l] || frozen[r]) {
      return;
    }
    String piece = s.substring(from[l], end[r]);
    Integer id = mergeable.get(piece);
    if (id == null) {
      return;
    }
    agenda.add(new int[] {l, r, id, piece.length()});
    if (types[id] == Type.UNUSED) {
      unusedSplits.put(piece, new String[] {s.substring(from[l], end[l]), s.substring(from[r], end[r])});
    }
  }

  /** One final symbol: re-split if unused, else its id, its bytes (byte fallback) or one unknown id per run. */
  private void emit(String piece, Map<String, String[]> unusedSplits, IntArrayList out) {
    String[] split = unusedSplits.get(piece);
    if (split != null) {
      emit(split[0], unusedSplits, out);
      emit(split[1], unusedSplits, out);
      return;
    }
    Integer id = reserved.get(piece);
    if (id == null) {
      id = mergeable.getOrDefault(piece, unkId);
    }
    if (id != unkId) {
      out.add(id);
    } else if (model.byteFallback()) {
      for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
        out.add(byteIds[b & 0xff]);
      }
    } else if (out.isEmpty() || out.get(out.size() - 1) != unkId) {
      out.add(unkId);
    }
  }

  private static Pattern alternation(List<Piece> pieces, Type... types) {
    List<Type> wanted = List.of(types);
    String alternatives = pieces.stream().filter(p -> wanted.contains(p.type())).map(Piece::text)
        .sorted(Comparator.comparingInt(String::length).reversed()).map(Pattern::quote)
        .collect(Collectors.joining("|"));
    return alternatives.isEmpty() ? (wanted.contains(Type.UNKNOWN) ? Pattern.compile("(?!)") : null)
        : Pattern.compile(alternatives);
  }

  private static int byteOf(String source, String piece) {
    if (!piece.matches("<0x[0-9A-Fa-f]{2}>")) {
      throw unsupported(source, "byte piece '" + piece + "' is not written <0xXX>");
    }
    return Integer.parseInt(piece.substring(3, 5), 16);
  }

  /** SHA-256 of what encoding and decoding depend on: pieces (text, score, type), normaliser flags, eos. */
  private static String digest(SentencePieceModel m) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(("sentencepiece-bpe:" + m.byteFallback() + ":" + m.addDummyPrefix() + ":" + m.removeExtraWhitespaces()
          + ":" + m.escapeWhitespaces() + ":" + m.unkSurface() + ":" + m.eosId() + "\n").getBytes(StandardCharsets.UTF_8));
      for (Piece p : m.pieces()) {
        d.update(ByteBuffer.allocate(8).putInt(p.type().ordinal()).putFloat(p.score()).array());
        d.update((p.text() + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  static InputException unsupported(String source, String problem) {
    return new InputException(source + ": unsupported SentencePiece model: " + problem + ". Fix: pass --tokenizer"
        + " with the model's tokenizer in a form SparkGPT reads (SentencePiece BPE tokenizer.model, byte-level BPE"
        + " tokenizer.json, encoder.json + vocab.bpe, or a bundled name)");
  }

  @Override
  public String toString() {
    return "Tokenizer[" + name + ", SentencePiece BPE, " + types.length + " ids, eos " + eosId + ", hash "
        + hash.substring(0, 12) + "]";
  }

  private static void addAll(IntArrayList out, int[] ids) {
    for (int id : ids) {
      out.add(id);
    }
  }
}
