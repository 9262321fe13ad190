package dev.sparkgpt.config;

import java.util.List;

/**
 * LoRA settings of a finetune (the book's appendix E): r = 0 trains the configured layers themselves.
 *
 * @param r adapter rank (0 = no LoRA)
 * @param alpha scale numerator: the adapters add (alpha / r) · A·B
 * @param dropout dropout on the adapter input: must be 0 (adapters are merged into the weights for the forward pass,
 *     where a separate dropout on their path cannot be expressed)
 * @param targets attn_qkv, attn_proj, mlp_fc, mlp_proj, head
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
    if (dropout != 0) {
      p.add("lora.dropout: " + dropout + " is not supported: the adapters are merged into the weights for the forward "
          + "pass, so their input cannot be dropped separately. Fix: set lora.dropout: 0");
    }
    if (r > 0 && (targets == null || targets.isEmpty())) {
      p.add("lora.targets: empty. Fix: some of attn_qkv, attn_proj, mlp_fc, mlp_proj, head");
    }
  }
}
