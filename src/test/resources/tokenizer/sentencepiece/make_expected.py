"""Writes expected-ids.json: the ids Google's sentencepiece (encode.cc) gives every text of ../hf/texts.json and
texts.json under each model here. Run from this directory after building encode.cc (see README.md)."""
import json
import subprocess
import sys

encoder = sys.argv[1] if len(sys.argv) > 1 else "/tmp/spm/encode"
texts = json.load(open("../hf/texts.json", encoding="utf-8"))["texts"] \
    + json.load(open("texts.json", encoding="utf-8"))["texts"]
out = {"generated_with": "sentencepiece 0.1.97 (Debian libsentencepiece-dev) SentencePieceProcessor::Encode, no BOS",
       "texts": texts, "ids": {}, "decoded": {}}
for model in ["llama2-style.model", "plain-bpe.model"]:
    lines = subprocess.run([encoder, model], input="".join(t.encode("utf-8").hex() + "\n" for t in texts),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(lines) == len(texts), (model, len(lines))
    out["ids"][model] = [[int(i) for i in l.split("\t")[0].split()] for l in lines]
    out["decoded"][model] = [bytes.fromhex(l.split("\t")[1]).decode("utf-8") for l in lines]
with open("expected-ids.json", "w", encoding="utf-8") as f:
    f.write(json.dumps(out, ensure_ascii=False, separators=(",", ":")).replace("],[", "],\n[") + "\n")
