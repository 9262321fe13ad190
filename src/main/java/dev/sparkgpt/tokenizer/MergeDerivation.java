package dev.sparkgpt.tokenizer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge list for a vocabulary known only by ranks (JTokkit's encodings): each token of two or more bytes is split
 * by running BPE over its bytes with the tokens of lower rank, which must leave exactly two parts, as Hugging Face's
 * tiktoken conversion does. For a vocabulary that came with merges (GPT-2's) this gives the same list back.
 */
final class MergeDerivation {
  private MergeDerivation() {}

  /** {left id, right id} per merge, in rank order of the token each makes. */
  static List<int[]> merges(BpeDefinition d) {
    byte[][] tokens = d.tokens();
    int[] ranks = d.ranks();
    Map<ByteBuffer, Integer> idOf = new HashMap<>(tokens.length * 2);
    List<Integer> order = new ArrayList<>();
    for (int id = 0; id < tokens.length; id++) {
      if (ranks[id] >= 0) {
        idOf.put(ByteBuffer.wrap(tokens[id]), id);
        if (tokens[id].length > 1) {
          order.add(id);
        }
      }
    }
    order.sort(Comparator.comparingInt(id -> ranks[id]));
    List<int[]> merges = new ArrayList<>(order.size());
    for (int id : order) {
      int[] parts = bpe(tokens[id], ranks[id], ranks, idOf);
      if (parts.length != 2) {
        throw new IllegalStateException("token " + id + " (" + ByteAlphabet.toText(tokens[id]) + ") splits into "
            + parts.length + " parts under lower ranks, so no merge list describes this vocabulary");
      }
      merges.add(parts);
    }
    return merges;
  }

  /** BPE of {@code bytes} using only tokens ranked below {@code limit}; the ids of the parts left. */
  private static int[] bpe(byte[] bytes, int limit, int[] ranks, Map<ByteBuffer, Integer> idOf) {
    int[] starts = new int[bytes.length + 1];
    for (int i = 0; i <= bytes.length; i++) {
      starts[i] = i;
    }
    int parts = bytes.length;
    while (parts > 1) {
      int best = -1;
      int bestRank = limit;
      for (int i = 0; i + 1 < parts; i++) {
        Integer id = idOf.get(ByteBuffer.wrap(bytes, starts[i], starts[i + 2] - starts[i]));
        if (id != null && ranks[id] < bestRank) {
          bestRank = ranks[id];
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      System.arraycopy(starts, best + 2, starts, best + 1, parts - best - 1);
      parts--;
    }
    int[] ids = new int[parts];
    for (int i = 0; i < parts; i++) {
      ids[i] = idOf.get(ByteBuffer.wrap(Arrays.copyOfRange(bytes, starts[i], starts[i + 1])));
    }
    return ids;
  }
}
