package dev.sparkgpt.data;

import dev.sparkgpt.io.InputException;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A tokenizer that travels to executors: "gpt2" by name, or a trained vocabulary's files read once on the driver
 * (from any Hadoop path) and shipped as bytes, so executors need no access to the driver's files.
 */
public final class TokenizerSpec implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final String ENCODER = "encoder.json";
  public static final String MERGES = "vocab.bpe";

  private final String name;
  private final byte[] encoderJson;
  private final byte[] vocabBpe;
  private transient Tokenizer tokenizer;

  private TokenizerSpec(String name, byte[] encoderJson, byte[] vocabBpe) {
    this.name = name;
    this.encoderJson = encoderJson;
    this.vocabBpe = vocabBpe;
  }

  /** "gpt2" (built in) or a directory holding encoder.json + vocab.bpe (as written by train-tokenizer). */
  public static TokenizerSpec resolve(String spec, Configuration conf) {
    if (spec == null || spec.isBlank() || "gpt2".equals(spec) || "r50k_base".equals(spec)) {
      return new TokenizerSpec("gpt2", null, null);
    }
    Path dir = new Path(spec);
    String name = dir.getName();
    return new TokenizerSpec(name, readFile(new Path(dir, ENCODER), conf), readFile(new Path(dir, MERGES), conf));
  }

  private static byte[] readFile(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        throw new InputException(path + ": tokenizer file not found. Fix: pass --tokenizer gpt2 or a directory"
            + " written by 'sparkgpt train-tokenizer' (it holds " + ENCODER + " and " + MERGES + ")");
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

  /** The tokenizer, built once per JVM (cached by the tokenizer package). */
  public synchronized Tokenizer get() {
    if (tokenizer == null) {
      tokenizer = encoderJson == null ? Tokenizers.load("gpt2") : Tokenizers.fromBytes(name, encoderJson, vocabBpe);
    }
    return tokenizer;
  }
}
