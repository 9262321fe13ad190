"""Loads a Hugging Face directory written by `sparkgpt convert sparkgpt-to-hf` the way users' tools do —
transformers' AutoConfig, AutoModelForCausalLM, GenerationConfig and (when the directory has tokenizer files)
AutoTokenizer — runs the model on a fixture's reference prompt and prints, as JSON, how its logits compare with the
fixture's float64 reference, its greedy token at each position, and the token ids AutoTokenizer gives the texts.
Used by HfExportLoadsInTransformersTest:

  python hf_export_check.py EXPORT_DIR FIXTURE_DIR TEXTS.json OUT.json
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig  # noqa: E402

export, fixture, texts_file, out = sys.argv[1:5]
config = AutoConfig.from_pretrained(export)
model = AutoModelForCausalLM.from_pretrained(export).float().eval()  # F32 files: float32 either way
reference = load_file(os.path.join(fixture, "reference-logits.safetensors"))
ids = reference["input_ids"].to(torch.long).unsqueeze(0)
with torch.no_grad():
    logits = model(ids).logits[0].to(torch.float64)
expected = reference["logits"].to(torch.float64)
result = {
    "model_class": type(model).__name__,
    "config_class": type(config).__name__,
    "max_abs_diff": float((logits - expected).abs().max()),
    "greedy": logits.argmax(-1).tolist(),
}
if os.path.exists(os.path.join(export, "generation_config.json")):
    result["generation_config"] = {k: v for k, v in GenerationConfig.from_pretrained(export).to_dict().items()
                                   if k.endswith("token_id") and v is not None}
if os.path.exists(os.path.join(export, "tokenizer_config.json")):
    tokenizer = AutoTokenizer.from_pretrained(export)
    with open(texts_file) as f:
        texts = json.load(f)
    result["tokenizer_class"] = type(tokenizer).__name__
    result["ids"] = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    result["eos_token_id"] = tokenizer.eos_token_id
with open(out, "w") as f:
    json.dump(result, f)
