package dev.sparkgpt.data;

import dev.sparkgpt.io.InputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/** Expands the tokenize job's inputs (files, directories, globs on any Hadoop file system) into sorted source files. */
public final class InputFiles {
  private InputFiles() {}

  /**
   * Lists every input file. A path that exists is taken literally (Hadoop globbing would misread '[' or '{' in a
   * real name); otherwise it is a glob. Directories are walked recursively, skipping hidden and '_' files.
   * Fails naming the path when something matches nothing or has an unknown format.
   */
  public static List<SourceFile> list(List<String> inputs, String format, Configuration conf) {
    List<FileStatus> found = new ArrayList<>();
    for (String input : inputs) {
      for (String part : input.split(",")) {
        String trimmed = part.trim();
        if (!trimmed.isEmpty()) {
          found.addAll(expand(trimmed, conf));
        }
      }
    }
    found.sort(Comparator.comparing(s -> s.getPath().toString()));
    List<SourceFile> files = new ArrayList<>();
    for (FileStatus status : found) {
      String name = status.getPath().getName();
      String fileFormat = "auto".equals(format) ? SourceFile.formatOf(name) : format;
      boolean sniffed = false;
      if (fileFormat == null) {
        if (!looksLikeText(status, conf)) {
          throw new InputException(status.getPath() + ": unknown input format (expected .txt, .jsonl or .parquet, "
              + "optionally .gz/.zst/.bz2/.xz; a file without extension is read as text only when its first "
              + SNIFF_BYTES / 1024 + " KB are UTF-8 without NUL bytes). Fix: rename the file or set format: "
              + "txt|jsonl|parquet");
        }
        fileFormat = "txt";
        sniffed = true;
      }
      boolean gzip = name.toLowerCase(Locale.ROOT).endsWith(".gz");
      files.add(new SourceFile(status.getPath().toString(), status.getLen(), fileFormat, gzip, files.size(),
          sniffed));
    }
    if (files.isEmpty()) {
      throw new InputException(String.join(",", inputs) + ": no input files found. Fix: check --input");
    }
    return files;
  }

  /** Bytes read to decide whether a file without a known extension is text. */
  public static final int SNIFF_BYTES = 64 << 10;

  /** The sniffing rule for files without a known extension, as warnings name it. */
  public static final String SNIFF_RULE = "no known extension, first 64 KB valid UTF-8 without NUL bytes: read as .txt";

  /**
   * Whether the file's first {@value #SNIFF_BYTES} bytes (decompressed when its name ends in a codec) are UTF-8
   * without a NUL byte: LICENSE, README, Gutenberg books. A multi-byte character cut by the 64 KB limit is fine.
   */
  static boolean looksLikeText(FileStatus status, Configuration conf) {
    SourceFile probe = new SourceFile(status.getPath().toString(), status.getLen(), "txt", false, 0);
    byte[] head = new byte[SNIFF_BYTES];
    int n = 0;
    try (InputStream in = probe.compression() == null ? status.getPath().getFileSystem(conf).open(status.getPath())
        : Decompress.open(status.getPath().getFileSystem(conf).open(status.getPath()), probe)) {
      int r;
      while (n < head.length && (r = in.read(head, n, head.length - n)) > 0) {
        n += r;
      }
    } catch (IOException e) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (head[i] == 0) {
        return false;
      }
    }
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    CoderResult r = utf8.decode(ByteBuffer.wrap(head, 0, n), CharBuffer.allocate(n + 1), n < head.length);
    return !r.isError();
  }

  private static List<FileStatus> expand(String input, Configuration conf) {
    Path path = new Path(input);
    try {
      FileSystem fs = path.getFileSystem(conf);
      List<FileStatus> out = new ArrayList<>();
      FileStatus[] matches;
      if (fs.exists(path)) {
        matches = new FileStatus[] {fs.getFileStatus(path)};
      } else {
        matches = fs.globStatus(path);
      }
      if (matches == null || matches.length == 0) {
        throw new InputException(input + ": input not found. Fix: check the path (and that a glob matches files)");
      }
      for (FileStatus match : matches) {
        if (match.isDirectory()) {
          RemoteIterator<LocatedFileStatus> it = fs.listFiles(match.getPath(), true);
          while (it.hasNext()) {
            LocatedFileStatus file = it.next();
            if (!isHidden(file.getPath(), match.getPath())) {
              out.add(file);
            }
          }
        } else {
          out.add(match);
        }
      }
      if (out.isEmpty()) {
        throw new InputException(input + ": directory holds no input files. Fix: check --input");
      }
      return out;
    } catch (IOException e) {
      throw new InputException(input + ": cannot list input: " + e.getMessage(), e);
    }
  }

  private static boolean isHidden(Path file, Path root) {
    for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
      String name = p.getName();
      if (name.startsWith(".") || name.startsWith("_")) {
        return true;
      }
    }
    return false;
  }
}
