// TEMPORARY stand-in so main compiles until the tokenizer package lands; replaced wholesale by it.
package dev.sparkgpt.tokenizer;
public interface Tokenizer {
  String name(); String hash(); int vocabSize(); int eotId();
  int[] encode(String text); int[] encodeWithSpecial(String text); String decode(int[] ids);
}
