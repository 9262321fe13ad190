#!/usr/bin/env python3
"""Eager decode baseline in NumPy for DecodeBench: GPT-2 124M shapes, random float32 weights, one thread.

The same work as DecodeBench (greedy, 64 new tokens after an 8-token prompt, with and without a key/value cache),
written the way an eager framework runs it (one BLAS call per projection, NumPy elementwise ops), so DecodeBench can
print its speed as a ratio against a baseline measured in the same run on the same core. Prints one JSON line.
Speeds are given per wall-clock and per CPU second (this process's CPU time: one thread, so on a machine shared
with other work it leaves out the time the process waited for a core). Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (DecodeBench sets them).
"""
import json
import sys
import time

import numpy as np

V, C, L, H, CTX = 50257, 768, 12, 12, 1024
D = C // H


def init(rng):
    w = lambda *s: (rng.standard_normal(s, dtype=np.float32) * 0.02)
    blocks = []
    for _ in range(L):
        blocks.append(dict(
            ln1_g=np.ones(C, np.float32), ln1_b=np.zeros(C, np.float32),
            qkv=w(C, 3 * C), qkv_b=np.zeros(3 * C, np.float32),
            proj=w(C, C), proj_b=np.zeros(C, np.float32),
            ln2_g=np.ones(C, np.float32), ln2_b=np.zeros(C, np.float32),
            fc=w(C, 4 * C), fc_b=np.zeros(4 * C, np.float32),
            fc2=w(4 * C, C), fc2_b=np.zeros(C, np.float32)))
    return dict(wte=w(V, C), wpe=w(CTX, C), blocks=blocks,
                lnf_g=np.ones(C, np.float32), lnf_b=np.zeros(C, np.float32))


def layer_norm(x, g, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.float32(np.sqrt(2 / np.pi)) * (x + np.float32(0.044715) * x ** 3)))


def forward(p, ids, start, cache):
    """Runs ids (positions start..) through the model; cache: per layer [k, v] lists or None; returns last logits."""
    n = len(ids)
    x = p["wte"][ids] + p["wpe"][start:start + n]
    for i, b in enumerate(p["blocks"]):
        a = layer_norm(x, b["ln1_g"], b["ln1_b"])
        qkv = a @ b["qkv"] + b["qkv_b"]
        q, k, v = np.split(qkv, 3, axis=-1)
        q = q.reshape(n, H, D).transpose(1, 0, 2)
        k = k.reshape(n, H, D).transpose(1, 0, 2)
        v = v.reshape(n, H, D).transpose(1, 0, 2)
        if cache is not None:
            if cache[i] is not None:
                k = np.concatenate([cache[i][0], k], axis=1)
                v = np.concatenate([cache[i][1], v], axis=1)
            cache[i] = (k, v)
        t = k.shape[1]
        s = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(D))
        mask = np.triu(np.ones((n, t), bool), k=t - n + 1)
        s = np.where(mask, np.float32(-1e10), s)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(n, C)
        x = x + o @ b["proj"] + b["proj_b"]
        h = gelu(layer_norm(x, b["ln2_g"], b["ln2_b"]) @ b["fc"] + b["fc_b"])
        x = x + h @ b["fc2"] + b["fc2_b"]
    last = layer_norm(x[-1:], p["lnf_g"], p["lnf_b"])
    return (last @ p["wte"].T)[0]


def decode(p, prompt, n, cached):
    ids = list(prompt)
    cache = [None] * L if cached else None
    logits = forward(p, ids, 0, cache)
    for _ in range(n):
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        logits = forward(p, [nxt], len(ids) - 1, cache) if cached else forward(p, ids, 0, None)
    return ids


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rng = np.random.default_rng(1)
    p = init(rng)
    prompt = rng.integers(0, V, 8).tolist()
    decode(p, prompt, 4, True)
    decode(p, prompt, 2, False)
    out = {"numpy": np.__version__}
    for name, cached in (("plain", False), ("cached", True)):
        w0, c0 = time.perf_counter(), time.process_time()
        decode(p, prompt, n, cached)
        out[name + "_tok_s"] = n / (time.perf_counter() - w0)
        out[name + "_cpu_tok_s"] = n / (time.process_time() - c0)   # CPU time: robust on a loaded machine
    print(json.dumps(out))


if __name__ == "__main__":
    main()
