package dev.sparkgpt.eval;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.sparkgpt.io.JsonFiles;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One item as lm-evaluation-harness logs it ({@code samples_<task>_<date>.jsonl} with {@code --log_samples}):
 * {@code doc_id}, {@code doc}, {@code target}, {@code arguments} (each request's context and continuation),
 * {@code resps} and {@code filtered_resps} (each request's [log-likelihood, is_greedy]), the SHA-256 hashes, and the
 * item's metrics as top-level keys with their names under {@code metrics}.
 *
 * <p>{@code prompt_hash} (of the first request's context) and {@code target_hash} (of {@code str(target)}) equal the
 * harness's for the same prompt; {@code doc_hash} hashes our doc (the task file's item, not the Hugging Face row).
 */
@JsonPropertyOrder({"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "doc_hash", "prompt_hash",
    "target_hash", "metrics"})
public record HarnessSample(int docId, Map<String, Object> doc, String target, Map<String, Map<String, String>>
    arguments, List<List<List<String>>> resps, List<List<String>> filteredResps, String docHash, String promptHash,
    String targetHash, List<String> metrics, Map<String, Double> metricValues) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The sample of item {@code docId} from its requests ({context, continuation}), their scores and its metrics. */
  static HarnessSample of(int docId, Map<String, Object> doc, String target, List<String[]> requests,
      List<LogLikelihood.Score> scores, Map<String, Double> metrics) {
    Map<String, Map<String, String>> arguments = new LinkedHashMap<>();
    List<List<List<String>>> resps = new ArrayList<>();
    List<List<String>> filtered = new ArrayList<>();
    for (int r = 0; r < requests.size(); r++) {
      arguments.put("gen_args_" + r, Map.of("arg_0", requests.get(r)[0], "arg_1", requests.get(r)[1]));
      // the harness logs Python's str() of each value: '-1.25', 'True'
      List<String> resp = List.of(pythonFloat(scores.get(r).logProb()), scores.get(r).greedy() ? "True" : "False");
      resps.add(List.of(resp));
      filtered.add(resp);
    }
    return new HarnessSample(docId, doc, target, arguments, resps, filtered, sha256(JsonFiles.line(doc).strip()),
        sha256(requests.get(0)[0]), sha256(target), List.copyOf(metrics.keySet()), metrics);
  }

  /** The metrics as top-level fields, as the harness writes them. */
  @JsonAnyGetter
  public Map<String, Double> metricFields() {
    return metricValues;
  }

  /** Hidden from JSON: {@link #metricFields} writes it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  @Override
  public Map<String, Double> metricValues() {
    return metricValues;
  }

  private static String pythonFloat(double v) {
    return Double.isInfinite(v) ? (v > 0 ? "inf" : "-inf") : Double.isNaN(v) ? "nan" : Double.toString(v);
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
