"""Runs EleutherAI's lm-evaluation-harness (its Python API, as `lm_eval --model local-completions` does) against a
running `sparkgpt serve` on one multiple-choice task file of ours, and prints the scores and every request's
log-likelihood as JSON. Used by LmEvalParityTest; also handy by hand:

  python lm_eval_local_completions.py BASE_URL MODEL TOKENIZER_DIR MAX_LENGTH TASK.jsonl OUT.json

With BASE_URL "hf", the harness's own `hf` model scores TOKENIZER_DIR (a Hugging Face directory, e.g. what
`sparkgpt convert sparkgpt-to-hf` wrote) with transformers on the CPU instead, in float32.
"""
import json
import os
import sys
import tempfile

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import lm_eval  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

base_url, model, tokenizer, max_length, task_file, out = sys.argv[1:7]
tasks = tempfile.mkdtemp()
with open(os.path.join(tasks, "sparkgpt_parity.yaml"), "w") as f:
    f.write(f"""task: sparkgpt_parity
dataset_path: json
dataset_kwargs:
  data_files:
    test: {json.dumps(os.path.abspath(task_file))}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{query}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{gold}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
""")
if base_url == "hf":
    kind, args = "hf", f"pretrained={tokenizer},dtype=float32,device=cpu,max_length={max_length}"
else:
    kind, args = "local-completions", (f"model={model},base_url={base_url},tokenizer_backend=huggingface,"
                                       f"tokenizer={tokenizer},max_length={max_length},num_concurrent=1,max_retries=1")
results = lm_eval.simple_evaluate(
    model=kind,
    model_args=args,
    tasks=["sparkgpt_parity"], task_manager=TaskManager(include_path=tasks), batch_size=8, log_samples=True)
scores = results["results"]["sparkgpt_parity"]
requests = []
for s in results["samples"]["sparkgpt_parity"]:
    for i, (arg, resp) in enumerate(zip(s["arguments"], s["resps"])):
        requests.append({"doc_id": s["doc_id"], "choice": i, "context": arg[0], "continuation": arg[1],
                         "loglikelihood": float(resp[0][0]), "is_greedy": bool(resp[0][1])})
with open(out, "w") as f:
    json.dump({"lm_eval_version": lm_eval.__version__, "acc": scores["acc,none"],
               "acc_norm": scores["acc_norm,none"], "requests": requests}, f)
