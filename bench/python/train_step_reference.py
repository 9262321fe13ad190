"""PyTorch-eager reference of TrainStepBench: the same GPT shapes, batch, dropout, AdamW and clipping, timed the same
way (warm-up step, then N full steps), on the BLAS threads given. Run by TrainStepBench in the same invocation so the
ratio it prints compares two runs on one machine at one moment.

Usage: python3 bench/python/train_step_reference.py VOCAB CONTEXT EMB LAYERS HEADS QKV_BIAS BATCH STEPS THREADS
Prints one JSON line: {"tokens_per_sec": ..., "seconds": ..., "steps": ..., "loss": ..., "torch": "..."}.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, emb, heads, context, qkv_bias, drop):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(emb, eps=1e-5)
        self.qkv = nn.Linear(emb, 3 * emb, bias=qkv_bias)
        self.proj = nn.Linear(emb, emb)
        self.norm2 = nn.LayerNorm(emb, eps=1e-5)
        self.fc = nn.Linear(emb, 4 * emb)
        self.out = nn.Linear(4 * emb, emb)
        self.drop = nn.Dropout(drop)
        self.attn_drop = nn.Dropout(drop)
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), diagonal=1))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        scores = scores.masked_fill(self.mask[:t, :t], float("-inf"))
        att = self.attn_drop(torch.softmax(scores, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.out(F.gelu(self.fc(self.norm2(x)), approximate="tanh")))


class Gpt(nn.Module):
    def __init__(self, vocab, context, emb, layers, heads, qkv_bias, drop=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, emb)
        self.pos = nn.Embedding(context, emb)
        self.drop = nn.Dropout(drop)
        self.blocks = nn.ModuleList(Block(emb, heads, context, qkv_bias, drop) for _ in range(layers))
        self.norm = nn.LayerNorm(emb, eps=1e-5)
        for m in self.modules():  # GPT-2's init, as ours: N(0, 0.02) weights, zero biases
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids):
        x = self.drop(self.tok(ids) + self.pos(torch.arange(ids.shape[1])))
        for block in self.blocks:
            x = block(x)
        return self.norm(x) @ self.tok.weight.T  # tied head, as our GPT-2


def main():
    vocab, context, emb, layers, heads, qkv_bias, batch, steps, threads = sys.argv[1:10]
    torch.set_num_threads(int(threads))
    torch.manual_seed(1337)
    model = Gpt(int(vocab), int(context), int(emb), int(layers), int(heads), qkv_bias == "true")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos" not in n and "tok" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "pos" not in n and "tok" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8, foreach=False)
    g = torch.Generator().manual_seed(42)
    ids = torch.randint(0, int(vocab), (int(batch), int(context)), generator=g)
    targets = torch.randint(0, int(vocab), (int(batch), int(context)), generator=g)

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()  # warm-up, as the Java side
    start = time.perf_counter()
    loss = 0.0
    for _ in range(int(steps)):
        loss = step()
    seconds = time.perf_counter() - start
    print(json.dumps({"tokens_per_sec": int(batch) * int(context) * int(steps) / seconds, "seconds": seconds,
                      "steps": int(steps), "loss": loss, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
