#!/usr/bin/env python3
"""Writes a JSONL corpus larger than a small JVM heap, for the bounded-memory runs in docs/distributed.md.

usage: bench/python/make_jsonl_corpus.py SOURCE.txt OUT_DIR [files=90] [mb_per_file=10]

Each line is {"id": N, "text": "<document N> ..."}: paragraphs of SOURCE with the document number in front, so no
two documents are equal (de-duplication keeps them all) and the token stream is not one text repeated.
"""
import json
import os
import sys


def main():
    source, out = sys.argv[1], sys.argv[2]
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 90
    mb = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    paragraphs = [p.strip() for p in open(source, encoding="utf-8").read().split("\n\n") if p.strip()]
    os.makedirs(out, exist_ok=True)
    doc = 0
    for f in range(files):
        with open(os.path.join(out, f"part-{f:03d}.jsonl"), "w", encoding="utf-8") as w:
            size = 0
            while size < mb * 1e6:
                body = " ".join(paragraphs[(doc + k) % len(paragraphs)] for k in range(8))
                line = json.dumps({"id": doc, "text": f"Document {doc}. {body}"}) + "\n"
                w.write(line)
                size += len(line.encode("utf-8"))
                doc += 1
    print(f"{out}: {files} files, {doc} documents")


if __name__ == "__main__":
    main()
