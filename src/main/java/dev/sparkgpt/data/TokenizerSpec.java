package dev.sparkgpt.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A tokenizer that travels to executors: a bundled one by name (gpt2, cl100k_base, o200k_base), or a directory's
 * tokenizer files read once on the driver (from any Hadoop path) and shipped as bytes, so executors need no access
 * to the driver's files. A directory may hold a Hugging Face {@code tokenizer.json} (byte-level BPE, with the
 * eos_token of {@code tokenizer_config.json}), a SentencePiece {@code tokenizer.model} (read instead of a
 * SentencePiece-style tokenizer.json beside it, as Llama-2 directories have), GPT-2's {@code vocab.json} + {@code merges.txt}, or
 * {@code encoder.json} + {@code vocab.bpe} as train-tokenizer writes them; read in that order of preference.
 */
public final class TokenizerSpec implements Serializable {
  private static final long serialVersionUID = 2L;
  public static final String ENCODER = "encoder.json";
  public static final String MERGES = "vocab.bpe";
  /** Hugging Face's names for GPT-2's pair of files (same formats as encoder.json / vocab.bpe). */
  public static final String HF_VOCAB = "vocab.json";
  public static final String HF_MERGES = "merges.txt";
  public static final String TOKENIZER_JSON = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
  public static final String SENTENCEPIECE = Tokenizers.SENTENCEPIECE_FILE;
  /** What a directory may hold, for messages. */
  public static final String DIR_FILES = TOKENIZER_JSON + ", " + SENTENCEPIECE + ", " + HF_VOCAB + " + " + HF_MERGES + ", or " + ENCODER
      + " + " + MERGES;

  private enum Kind { BUILT_IN, GPT2_FILES, HF_JSON, SENTENCEPIECE }

  private final String name;
  private final Kind kind;
  private final byte[] first;
  private final byte[] second;
  private final String eosToken;
  private transient Tokenizer tokenizer;

  private TokenizerSpec(String name, Kind kind, byte[] first, byte[] second, String eosToken) {
    this.name = name;
    this.kind = kind;
    this.first = first;
    this.second = second;
    this.eosToken = eosToken;
  }

  /**
   * A bundled name ("gpt2" when blank) or a directory holding one of {@link #DIR_FILES}.
   *
   * @throws InputException naming the directory and what it should hold, when it holds none of them
   */
  public static TokenizerSpec resolve(String spec, Configuration conf) {
    if (spec == null || spec.isBlank()) {
      return new TokenizerSpec(Tokenizers.GPT2, Kind.BUILT_IN, null, null, null);
    }
    if (Tokenizers.isBuiltIn(spec)) {
      return new TokenizerSpec(spec.equals("r50k_base") ? Tokenizers.GPT2 : spec, Kind.BUILT_IN, null, null, null);
    }
    return inDirectory(new Path(spec), conf).orElseThrow(() -> new InputException(spec + ": no tokenizer there ("
        + (exists(new Path(spec), conf) ? "none of " + DIR_FILES : "no such directory") + "). Fix: pass " + Tokenizers.BUILT_IN + " or a directory holding " + DIR_FILES
        + " (train-tokenizer writes " + ENCODER + " + " + MERGES + ")"));
  }

  /** The tokenizer files in {@code dir}, if it holds any SparkGPT reads; empty when it holds none. */
  public static Optional<TokenizerSpec> inDirectory(Path dir, Configuration conf) {
    String name = dir.getName();
    boolean spm = exists(new Path(dir, SENTENCEPIECE), conf);
    if (exists(new Path(dir, TOKENIZER_JSON), conf)) {
      byte[] json = readFile(new Path(dir, TOKENIZER_JSON), conf);
      if (!spm || !Tokenizers.isSentencePieceStyle(json)) { // Llama-2's tokenizer.json is tokenizer.model's copy
        return Optional.of(new TokenizerSpec(name, Kind.HF_JSON, json, null,
            eosToken(new Path(dir, TOKENIZER_CONFIG), conf)));
      }
    }
    if (spm) {
      return Optional.of(new TokenizerSpec(name, Kind.SENTENCEPIECE, readFile(new Path(dir, SENTENCEPIECE), conf),
          null, null));
    }
    for (String[] pair : new String[][] {{HF_VOCAB, HF_MERGES}, {ENCODER, MERGES}}) {
      if (exists(new Path(dir, pair[0]), conf) || exists(new Path(dir, pair[1]), conf)) {
        return Optional.of(new TokenizerSpec(name, Kind.GPT2_FILES, readFile(new Path(dir, pair[0]), conf),
            readFile(new Path(dir, pair[1]), conf), null));
      }
    }
    return Optional.empty();
  }

  /** The eos_token of a tokenizer_config.json (a string or {"content": ...}), or null without the file or key. */
  private static String eosToken(Path config, Configuration conf) {
    if (!exists(config, conf)) {
      return null;
    }
    try {
      JsonNode eos = new ObjectMapper().readTree(readFile(config, conf)).path("eos_token");
      String text = eos.isObject() ? eos.path("content").asText(null) : eos.isTextual() ? eos.asText() : null;
      return text == null || text.isEmpty() ? null : text;
    } catch (IOException e) {
      throw new InputException(config + ": is not valid JSON (" + e.getMessage() + "). Fix: use the model's own, "
          + "unedited " + TOKENIZER_CONFIG, e);
    }
  }

  private static boolean exists(Path path, Configuration conf) {
    try {
      return path.getFileSystem(conf).exists(path);
    } catch (IOException e) {
      throw new InputException(path + ": cannot inspect: " + e.getMessage(), e);
    }
  }

  private static byte[] readFile(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException(path + ": tokenizer file not found. Fix: pass --tokenizer with a bundled name ("
            + Tokenizers.BUILT_IN + ") or a directory holding " + DIR_FILES);
      }
      try (InputStream in = fs.open(path)) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
      }
    } catch (IOException e) {
      throw new InputException(path + ": cannot read tokenizer file: " + e.getMessage(), e);
    }
  }

  /** Whether this is a bundled tokenizer (gpt2, cl100k_base …) rather than files of a directory. */
  public boolean builtIn() {
    return kind == Kind.BUILT_IN;
  }

  /** The tokenizer.json these files came from, as read (for exports); null for the other kinds. */
  public byte[] originalTokenizerJson() {
    return kind == Kind.HF_JSON ? first.clone() : null;
  }

  /** The SentencePiece tokenizer.model these files came from, as read (for exports); null for the other kinds. */
  public byte[] originalSentencePiece() {
    return kind == Kind.SENTENCEPIECE ? first.clone() : null;
  }

  /** The tokenizer, built once per JVM (cached by the tokenizer package). */
  public synchronized Tokenizer get() {
    if (tokenizer == null) {
      tokenizer = switch (kind) {
        case BUILT_IN -> Tokenizers.load(name);
        case GPT2_FILES -> Tokenizers.fromBytes(name, first, second);
        case HF_JSON -> Tokenizers.fromHfTokenizerJson(name, first, eosToken);
        case SENTENCEPIECE -> Tokenizers.fromSentencePiece(name, first);
      };
    }
    return tokenizer;
  }
}
