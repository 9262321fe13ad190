// TEMPORARY stand-in so main compiles until the tokenizer package lands; replaced wholesale by it.
package dev.sparkgpt.tokenizer;
import java.util.*;
public final class TextSplitter {
  public static List<String> split(String text, int n) {
    List<String> out = new ArrayList<>(); int start = 0;
    for (int i = n; i < text.length() - 1; i++) {
      if (i - start >= n && text.charAt(i - 1) == '\n' && i >= 2 && !Character.isWhitespace(text.charAt(i - 2)) && !Character.isWhitespace(text.charAt(i))) { out.add(text.substring(start, i)); start = i; }
    }
    out.add(text.substring(start)); return out;
  }
}
