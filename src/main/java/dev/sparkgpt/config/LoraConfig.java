package dev.sparkgpt.config;

import java.util.List;

/**
 * LoRA settings of a finetune (the book's appendix E): r = 0 trains the configured layers themselves.
 *
 * @param r adapter rank (0 = no LoRA)
 * @param alpha scale numerator: the adapters add (alpha / r) · A·B
 * @param dropout dropout on each adapter's input in training (0 ≤ p < 1; the adapters are computed beside the frozen
 *     weights, so only their path is dropped)
 * @param targets attn_qkv (or attn_q, attn_k, attn_v), attn_proj, mlp_fc (= mlp_up), mlp_gate (SwiGLU), mlp_proj,
 *     head
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targets) implements java.io.Serializable {
  public static LoraConfig defaults() {
    return new LoraConfig(0, 16, 0, List.of("attn_qkv", "attn_proj", "mlp_fc", "mlp_proj", "head"));
  }

  /** Problems of these settings, added to {@code p}. */
  void problems(List<String> p) {
    if (r < 0 || (r > 0 && !(alpha > 0))) {
      p.add("lora.r ≥ 0 (0 = off) and lora.alpha > 0 are required");
    }
    if (!(dropout >= 0 && dropout < 1)) {
      p.add("lora.dropout: " + dropout + " is outside [0, 1) (the probability of dropping an adapter input). Fix: "
          + "e.g. 0.05, or 0 for none");
    }
    if (r > 0 && (targets == null || targets.isEmpty())) {
      p.add("lora.targets: empty. Fix: some of attn_qkv (or attn_q, attn_k, attn_v), attn_proj, mlp_fc, mlp_gate, "
          + "mlp_proj, head");
    }
  }
}
