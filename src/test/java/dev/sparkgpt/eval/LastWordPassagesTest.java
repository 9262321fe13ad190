package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigLoader;
import dev.sparkgpt.config.EvalConfig;
import dev.sparkgpt.io.HadoopConf;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The LAMBADA-style generator's rules, and the bundled task it made: read, checked item by item, scored. */
class LastWordPassagesTest {
  private static final String BUNDLED = "src/main/resources/data/eval/lambada_sotu.jsonl";
  private static final Tokenizer GPT2 = Tokenizers.load("gpt2");

  private static String words(int n, String word) {
    return (word + " ").repeat(n).strip();
  }

  @Test
  void sentencesEndAtStopsButNotAfterAbbreviations() {
    assertEquals(List.of("Mrs. Gisburn smiled.", "\"Oh, he doesn't _have_ to now, you know,\" she said.",
        "Why (she asked) not?", "Well!--even so"), LastWordPassages.sentences(
            "Mrs. Gisburn smiled.  \"Oh, he doesn't _have_ to now,\nyou know,\" she said.\n\nWhy (she asked) not? "
                + "Well!--even so"));
  }

  @Test
  void aPassageEndsAtTheFirstWordThatOccursEarlierOnceItIsLongEnough() {
    // 39 filler words + "The garden." is 41 words but "garden" is new; the next sentence ends in "garden" again
    String filler = words(39, "filler") + ".";
    String text = filler + " The garden. We walked into the garden!\" " + words(50, "x") + " end.";
    List<LastWordPassages.Passage> passages = LastWordPassages.passages(text);
    assertEquals(List.of(new LastWordPassages.Passage(filler + " The garden. We walked into the garden", "garden")),
        passages, "cut before the punctuation; the rest never reaches a repeated word of 3+ letters");

    assertEquals(null, LastWordPassages.ending("It was it"), "a target of fewer than 3 letters");
    assertEquals(null, LastWordPassages.ending("Jack said Jack--one"), "not letters only");
    assertEquals(null, LastWordPassages.ending("the gardener saw a garden."), "only a whole-word match counts");
    assertEquals(null, LastWordPassages.ending("The Garden was a garden."), "same case only");
    assertEquals(null, LastWordPassages.ending("art for (art)."), "an opening bracket stays on the word");
    assertEquals(new LastWordPassages.Passage("Art for art's sake, and art", "art"),
        LastWordPassages.ending("Art for art's sake, and art.)"));
    // over 90 words without an ending: the start moves one sentence on, and the passage found is the later one
    String longStart = words(95, "long") + ".";
    String tail = words(45, "short") + " short.";
    assertEquals(List.of(new LastWordPassages.Passage(words(46, "short"), "short")),
        LastWordPassages.passages(longStart + " " + tail));
  }

  @Test
  void evenlyKeepsPassagesSpreadOverTheText() {
    List<LastWordPassages.Passage> all = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(new LastWordPassages.Passage("p" + i, "p"));
    }
    assertEquals(List.of("p0", "p3", "p6"), LastWordPassages.evenly(all, 3).stream().map(
        LastWordPassages.Passage::text).toList());
    assertEquals(all, LastWordPassages.evenly(all, 20));
  }

  @Test
  void theVerdictGivesSeventeenPassages() throws Exception {
    List<LastWordPassages.Passage> passages = LastWordPassages.passages(
        Files.readString(Path.of("src/main/resources/data/corpora/the-verdict.txt")));
    assertEquals(List.of("Gisburn", "her", "beauty", "know", "over", "was", "said", "dead", "Stroud", "knew", "reason",
        "like", "secret", "note", "stroke", "thing", "alive"), passages.stream().map(LastWordPassages.Passage::target)
        .toList());
    assertTrue(passages.get(0).text().startsWith("The word, on Mrs. Thwing's lips, multiplied its _rs_"));
    assertTrue(passages.get(0).text().endsWith("I felt able to face the fact with equanimity. Poor Jack Gisburn"));
  }

  @Test
  void theBundledTaskFollowsTheRulesAndScores() throws Exception {
    Task task = TaskFiles.read(BUNDLED, HadoopConf.create());
    assertEquals("lambada_sotu", task.name());
    assertEquals(Task.Kind.LAST_WORD, task.kind());
    assertEquals(500, task.items().size());
    Set<String> texts = new HashSet<>();
    int year = 0;
    for (Task.Item it : task.items()) {
      Task.LastWord item = (Task.LastWord) it;
      String where = BUNDLED + ":" + item.line();
      assertTrue(item.word().matches("[A-Za-z]{3,}"), where + ": " + item.word());
      assertTrue(Pattern.compile("(?<![A-Za-z])" + item.word() + "(?![A-Za-z])").matcher(item.context()).find(),
          where + ": the word occurs earlier");
      int words = item.context().split(" ").length + 1;
      assertTrue(words >= LastWordPassages.MIN_WORDS && words <= LastWordPassages.MAX_WORDS, where + ": " + words);
      assertTrue(texts.add(item.solved()), where + ": duplicate");
      year += item.word().equals("year") ? 1 : 0;
    }
    assertEquals(17, year);
    EvalConfig benchmarks = ConfigLoader.load(EvalConfig.class, EvalConfig.defaults(),
        Path.of("conf/eval/benchmarks.yaml"), List.of(), null);
    assertTrue(benchmarks.tasks().contains(BUNDLED), benchmarks.tasks().toString());

    // a model that always says " year" with p = 1/2 and spreads the rest evenly: right exactly on the 17 "year"s
    int yearId = GPT2.encode(" year")[0];
    double other = 0.5 / (GPT2.vocabSize() - 1);
    float[] row = new float[GPT2.vocabSize()];
    for (int id = 0; id < row.length; id++) {
      row[id] = (float) Math.log(id == yearId ? 0.5 : other);
    }
    ScoringModel alwaysYear = new ScoringModel() {
      @Override
      public int contextLength() {
        return 128;
      }

      @Override
      public int vocabSize() {
        return row.length;
      }

      @Override
      public float[][][] logits(int[][] ids) {
        float[][][] out = new float[ids.length][ids[0].length][];
        for (float[][] positions : out) {
          java.util.Arrays.fill(positions, row); // scoring only reads rows: one shared row, not 50,257 floats each
        }
        return out;
      }
    };
    TaskResult r = TaskEvaluation.evaluate(task, -1, 0, 1234, GPT2, new LocalRunner(alwaysYear, 16));
    assertEquals(500, r.n());
    assertEquals(17 / 500.0, r.acc());
    // perplexity = exp(mean over items of −Σ ln p(word token)): " year" costs ln 2, any other token ln(1 / other)
    double nats = 0;
    for (Task.Item it : task.items()) {
      for (int id : GPT2.encode(" " + ((Task.LastWord) it).word())) {
        nats += id == yearId ? Math.log(2) : -Math.log(other);
      }
    }
    assertEquals(Math.exp(nats / 500), r.perplexity(), Math.exp(nats / 500) * 1e-6);
  }
}
