package dev.sparkgpt.eval;

import dev.sparkgpt.io.JsonFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds a LAMBADA-style last-word task from plain prose, deterministically (the same text gives the same file, byte
 * for byte). LAMBADA (Paperno et al., 2016) asks for the last word of a passage of a few sentences; its passages were
 * kept only when people could guess that word from the whole passage but not from the last sentence alone. We have
 * no annotators, so the rule here is the one the LAMBADA paper found behind most of its items: the target word
 * already occurs in the context. The rules, in order:
 *
 * <ol>
 *   <li>Whitespace (line and paragraph breaks included) becomes single spaces; sentences end at {@code . ! ?},
 *       optionally followed by closing quotes, brackets or underscores, then a space; not after the abbreviations
 *       {@link #ABBREVIATIONS}.</li>
 *   <li>Passages are consecutive sentences, never overlapping (so no item's text holds another item's answer, which
 *       few-shot examples would otherwise give away). From the first unused sentence, sentences are added until the
 *       passage has at least {@link #MIN_WORDS} words and ends in a valid target; past {@link #MAX_WORDS} words the
 *       start moves one sentence on.</li>
 *   <li>The target is the passage's last word without the punctuation after it (quotes, brackets, underscores,
 *       {@code . , ; : ! ?}); it must be letters only and at least {@link #MIN_TARGET_LETTERS} long (so "--"-joined
 *       words, numbers and "I" never end a passage) and occur as a whole word, same case, earlier in the passage.</li>
 *   <li>The item's text ends with the target word (LAMBADA's format: no final punctuation).</li>
 *   <li>Optionally only {@code n} passages are kept, evenly spaced over the text (passage ⌊i · total / n⌋ for
 *       i = 0..n-1), so a long corpus is sampled from end to end.</li>
 * </ol>
 *
 * <p>The bundled {@code data/eval/lambada_sotu.jsonl} is this class run on the State of the Union corpus (see
 * data/SOURCES.md): {@code LastWordPassages sotu-1790-2021.txt lambada_sotu.jsonl 500}.
 */
public final class LastWordPassages {
  /** Fewest words in a passage, target included (LAMBADA's passages average about 75 words). */
  public static final int MIN_WORDS = 40;
  /** Most words in a passage, so that most passages fit a 128-token model with the whole context. */
  public static final int MAX_WORDS = 90;
  /** Shortest target word. */
  public static final int MIN_TARGET_LETTERS = 3;
  /** Words after which a period does not end a sentence. */
  public static final Set<String> ABBREVIATIONS = Set.of("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "Mme.", "Mlle.");

  private static final Pattern SENTENCE_END = Pattern.compile("[.!?][\"')\\]_]*(?= )");
  private static final Pattern TRAILING = Pattern.compile("[\"')\\]_.,;:!?]+$");
  private static final Pattern LETTERS = Pattern.compile("[A-Za-z]+");

  private LastWordPassages() {}

  /** One item: {@code text} ends with {@code target}, which occurs earlier in it. */
  public record Passage(String text, String target) {}

  /** The passages of {@code prose}, in order. */
  public static List<Passage> passages(String prose) {
    List<String> sentences = sentences(prose);
    List<Passage> out = new ArrayList<>();
    int start = 0;
    while (start < sentences.size()) {
      Passage found = null;
      int end = start;
      int words = 0;
      for (; end < sentences.size(); end++) {
        words += sentences.get(end).split(" ").length;
        if (words > MAX_WORDS) {
          break;
        }
        if (words >= MIN_WORDS && (found = ending(String.join(" ", sentences.subList(start, end + 1)))) != null) {
          break;
        }
      }
      if (found != null) {
        out.add(found);
        start = end + 1;
      } else {
        start++;
      }
    }
    return out;
  }

  /** The sentences of {@code prose}, whitespace collapsed. */
  static List<String> sentences(String prose) {
    String text = prose.replaceAll("\\s+", " ").strip();
    List<String> sentences = new ArrayList<>();
    Matcher m = SENTENCE_END.matcher(text);
    int from = 0;
    while (m.find()) {
      String candidate = text.substring(from, m.end());
      String lastWord = candidate.substring(candidate.lastIndexOf(' ') + 1);
      if (ABBREVIATIONS.contains(lastWord)) {
        continue;
      }
      sentences.add(candidate.strip());
      from = m.end() + 1;
    }
    if (from < text.length()) {
      sentences.add(text.substring(from).strip());
    }
    return sentences;
  }

  /** The passage cut after its last word if that word is a valid target, else null. */
  static Passage ending(String passage) {
    int space = passage.lastIndexOf(' ');
    if (space < 0) {
      return null;
    }
    String target = TRAILING.matcher(passage.substring(space + 1)).replaceAll("");
    if (target.length() < MIN_TARGET_LETTERS || !LETTERS.matcher(target).matches()) {
      return null;
    }
    String context = passage.substring(0, space);
    if (!Pattern.compile("(?<![A-Za-z])" + target + "(?![A-Za-z])").matcher(context).find()) {
      return null;
    }
    return new Passage(context + " " + target, target);
  }

  /** {@code n} of {@code passages}, evenly spaced, in order; all of them when there are no more than {@code n}. */
  public static List<Passage> evenly(List<Passage> passages, int n) {
    if (n >= passages.size()) {
      return passages;
    }
    List<Passage> kept = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      kept.add(passages.get((int) ((long) i * passages.size() / n)));
    }
    return kept;
  }

  /** The task file: one {@code {"text": ...}} line per passage. */
  public static String toJsonl(List<Passage> passages) {
    StringBuilder sb = new StringBuilder();
    for (Passage p : passages) {
      sb.append(JsonFiles.line(Map.of("text", p.text())));
    }
    return sb.toString();
  }

  /** {@code LastWordPassages IN.txt OUT.jsonl [N]}: writes the task (N passages, default all) and says how many. */
  public static void main(String[] args) throws IOException {
    if (args.length < 2 || args.length > 3) {
      System.err.println("usage: LastWordPassages IN.txt OUT.jsonl [N]");
      System.exit(2);
    }
    List<Passage> all = passages(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8));
    List<Passage> kept = args.length == 3 ? evenly(all, Integer.parseInt(args[2])) : all;
    Files.writeString(Path.of(args[1]), toJsonl(kept), StandardCharsets.UTF_8);
    System.out.printf("%s: %d of %d passages from %s%n", args[1], kept.size(), all.size(), args[0]);
  }
}
