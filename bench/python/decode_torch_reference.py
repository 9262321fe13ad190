"""PyTorch-eager decode reference of DecodeBench: gpt2-124m shapes, random weights, greedy NEW tokens after an
8-token prompt, with a key/value cache and without (the whole prefix every token), on the threads OMP_NUM_THREADS
gives. Run by DecodeBench in the same invocation. Prints one JSON line: {"cached_tok_s", "plain_tok_s", "torch"}.

Usage: python3 bench/python/decode_torch_reference.py NEW_TOKENS
"""
import json
import math
import os
import sys
import time

import torch

from train_step_reference import Gpt


def attend(block, x, cache):
    """One block on the new positions x, appending their keys/values to cache (a list [k, v] or None = no cache)."""
    b, t, c = x.shape
    h = block.heads
    q, k, v = block.qkv(block.norm1(x)).split(c, dim=2)
    q, k, v = (z.view(b, t, h, c // h).transpose(1, 2) for z in (q, k, v))
    if cache is not None:
        if cache:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        cache[:] = [k, v]
    n = k.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(c // h)
    scores = scores.masked_fill(block.mask[n - t:n, :n], float("-inf"))
    y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).contiguous().view(b, t, c)
    x = x + block.proj(y)
    return x + block.out(torch.nn.functional.gelu(block.fc(block.norm2(x)), approximate="tanh"))


def decode(model, prompt, new, cached):
    ids = list(prompt)
    caches = [[] for _ in model.blocks] if cached else None
    fed = 0
    for _ in range(new):
        start = fed if cached else 0
        x = model.tok(torch.tensor([ids[start:]])) + model.pos(torch.arange(start, len(ids)))
        for i, block in enumerate(model.blocks):
            x = attend(block, x, caches[i] if cached else None)
        fed = len(ids)
        ids.append(int(torch.argmax(model.norm(x[0, -1]) @ model.tok.weight.T)))
    return ids


def main():
    new = int(sys.argv[1])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(1)
    model = Gpt(50257, 1024, 768, 12, 12, True, drop=0.0).eval()
    prompt = torch.randint(0, 50257, (8,)).tolist()
    result = {"torch": torch.__version__}
    with torch.inference_mode():
        decode(model, prompt, 4, True)  # warm-up
        for name, cached in (("cached_tok_s", True), ("plain_tok_s", False)):
            start = time.perf_counter()
            decode(model, prompt, new, cached)
            result[name] = new / (time.perf_counter() - start)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
