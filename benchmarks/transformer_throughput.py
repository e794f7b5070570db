"""Training throughput of paperzoo's Transformer-base against ``torch.nn.Transformer`` at the same configuration.

Both models are the base model of Table 3 (d_model 512, 6 encoder and 6 decoder layers, 8 heads,
d_ff 2048, dropout 0.1, post-LN) with the same embedding and output layers around them: one
shared embedding matrix scaled by sqrt(d_model), sinusoidal positional encodings, dropout, and
the pre-softmax projection tied to the embedding (paperzoo's :meth:`Transformer.embed` and
:meth:`Transformer.logits`, which the reference reuses). The difference is the stack in between:

* **paperzoo**: :class:`paperzoo.papers.transformer.model.Transformer`, here with biases in the
  attention projections (``attn_bias=True``) as ``torch.nn.MultiheadAttention`` has them; the
  attention is PyTorch's fused ``scaled_dot_product_attention`` or, with
  ``--no-fast-attention``, Eq. 1 written out;
* **torch.nn.Transformer** (``batch_first=True``), which also puts a LayerNorm after each of its two
  stacks (two more LayerNorms than the paper's post-LN model, 2,048 parameters).

One training step: forward on a batch of source and target token ids (random ids, no padding,
but the padding and causal masks are built and applied on both sides), label-smoothed
cross-entropy (eps 0.1), backward, Adam (0.9, 0.98, 1e-9). The two models alternate in rounds of
``--steps`` steps in one process, so a change in the machine's load hits both; throughput is
(source + target tokens per batch) / (median step time) after ``--warmup`` untimed steps.

    python benchmarks/transformer_throughput.py --device cuda --amp   # on the GPU machine
    python benchmarks/transformer_throughput.py --quick               # a tiny CPU run (seconds)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from paperzoo.papers.transformer.model import (
    CONFIGS,
    PositionalEncoding,
    Transformer,
    causal_mask,
    label_smoothed_cross_entropy,
)
from paperzoo.train.env import environment, hardware

#: --quick: a tiny configuration that runs in seconds on a CPU (for the tests).
QUICK = dict(d_model=64, num_layers=2, d_ff=128, num_heads=4, dropout=0.1, vocab_size=1000, batch_size=8,
             src_len=16, tgt_len=16, steps=2, rounds=2, warmup=1)


class TorchTransformer(nn.Module):
    """``torch.nn.Transformer`` between the same embedding and output layers as paperzoo's model
    (borrowed from ``ours``: its shared embedding, positional encodings and dropout, copied)."""

    def __init__(self, ours: Transformer, *, num_heads: int, num_layers: int, d_ff: int, dropout: float):
        super().__init__()
        self.d_model, self.pad_id = ours.d_model, ours.pad_id
        self.embedding = nn.Embedding.from_pretrained(ours.embedding.weight.detach().clone(), freeze=False)
        self.positional = PositionalEncoding(d_model=ours.d_model, max_len=ours.positional.max_len)
        self.dropout = nn.Dropout(dropout)
        self.transformer = nn.Transformer(ours.d_model, num_heads, num_layers, num_layers, d_ff, dropout,
                                          activation="relu", batch_first=True, norm_first=False)

    embed = Transformer.embed    # embeddings * sqrt(d_model) + positional encodings, dropout
    logits = Transformer.logits  # h @ embedding^T

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:  # (B, S), (B, T)
        T = tgt_in.shape[1]
        out = self.transformer(self.embed(src), self.embed(tgt_in), tgt_mask=~causal_mask(T, src.device),
                               src_key_padding_mask=src == self.pad_id, tgt_key_padding_mask=tgt_in == self.pad_id,
                               memory_key_padding_mask=src == self.pad_id)  # True = not allowed, in torch's masks
        return self.logits(out)  # (B, T, vocab)


def build(cfg: dict[str, Any], fast_attention: bool, device: torch.device) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    ours = Transformer(vocab_size=cfg["vocab_size"], d_model=cfg["d_model"], num_layers=cfg["num_layers"],
                       num_heads=cfg["num_heads"], d_ff=cfg["d_ff"], dropout=cfg["dropout"], attn_bias=True,
                       fast_attention=fast_attention, max_len=max(cfg["src_len"], cfg["tgt_len"]) + 1)
    theirs = TorchTransformer(ours, num_heads=cfg["num_heads"], num_layers=cfg["num_layers"], d_ff=cfg["d_ff"],
                              dropout=cfg["dropout"])
    attention = "fused attention" if fast_attention else "Eq. 1 written out"
    return {f"paperzoo ({attention})": ours.to(device), "torch.nn.Transformer": theirs.to(device)}


def batch(cfg: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (src, tgt_in, tgt_out) ids from 4.. (no special tokens but <s> first in tgt_in)."""
    g = torch.Generator().manual_seed(0)
    B, V = cfg["batch_size"], cfg["vocab_size"]
    src = torch.randint(4, V, (B, cfg["src_len"]), generator=g)  # (B, S)
    tgt = torch.randint(4, V, (B, cfg["tgt_len"] + 1), generator=g)  # (B, T + 1)
    tgt[:, 0] = 2  # <s>
    return src.to(device), tgt[:, :-1].to(device), tgt[:, 1:].to(device)


def time_steps(model: nn.Module, opt: torch.optim.Optimizer, data, n: int, device: torch.device,
               amp: bool) -> list[float]:
    """Seconds of each of ``n`` training steps."""
    src, tgt_in, tgt_out = data
    out = []
    for _ in range(n):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = label_smoothed_cross_entropy(model(src, tgt_in), tgt_out, epsilon=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        out.append(time.perf_counter() - t0)
    return out


def run(cfg: dict[str, Any], *, device: torch.device, amp: bool, fast_attention: bool) -> dict[str, Any]:
    models = build(cfg, fast_attention, device)
    data = batch(cfg, device)
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9) for k, m in models.items()}
    for m in models.values():
        m.train()
    times: dict[str, list[float]] = {k: [] for k in models}
    for name, m in models.items():
        time_steps(m, opts[name], data, cfg["warmup"], device, amp)
    for _ in range(cfg["rounds"]):
        for name, m in models.items():
            times[name] += time_steps(m, opts[name], data, cfg["steps"], device, amp)
    tokens = cfg["batch_size"] * (cfg["src_len"] + cfg["tgt_len"])
    rows = [{"model": name, "parameters": sum(p.numel() for p in models[name].parameters()),
             "median_step_ms": 1000 * statistics.median(t), "tokens_per_s": tokens / statistics.median(t),
             "steps_timed": len(t)} for name, t in times.items()]
    base = rows[-1]["tokens_per_s"]
    for r in rows:
        r["ratio_to_torch"] = r["tokens_per_s"] / base
    return {"rows": rows, "tokens_per_batch": tokens}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (as paperzoo's training loop on CUDA)")
    p.add_argument("--fast-attention", action=argparse.BooleanOptionalAction, default=True,
                   help="paperzoo: fused scaled_dot_product_attention (default) or Eq. 1 written out")
    p.add_argument("--batch-size", type=int, default=64, help="sentence pairs per batch")
    p.add_argument("--src-len", type=int, default=32)
    p.add_argument("--tgt-len", type=int, default=32)
    p.add_argument("--vocab-size", type=int, default=37000)
    p.add_argument("--steps", type=int, default=20, help="timed steps per model per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds, the models alternating")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per model first")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="a tiny model and batch on the CPU, a few steps (seconds)")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)
    cfg = {**CONFIGS["base"], **{k: getattr(args, k) for k in ("vocab_size", "batch_size", "src_len", "tgt_len",
                                                              "steps", "rounds", "warmup")}}
    if args.quick:
        cfg = dict(QUICK)
        args.device = "cpu"
        args.threads = args.threads or 1
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    result = run(cfg, device=device, amp=args.amp, fast_attention=args.fast_attention)
    precision = "bf16 autocast" if args.amp else "fp32"
    title = "tiny model (--quick)" if args.quick else "Transformer base"
    config = (f"d_model {cfg['d_model']}, {cfg['num_layers']}+{cfg['num_layers']} layers, {cfg['num_heads']} heads, "
              f"d_ff {cfg['d_ff']}, dropout {cfg['dropout']}, vocabulary {cfg['vocab_size']:,}; batch "
              f"{cfg['batch_size']} x ({cfg['src_len']} source + {cfg['tgt_len']} target) tokens")
    command = "python benchmarks/transformer_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {"title": title, "config": config, "device": hardware(device), "precision": precision, **result,
              "env": {k: v for k, v in environment(device).items() if k != "argv"}, "command": command.strip()}
    lines = [f"{title}, training, {precision}, on {report['device']}", f"({config})", "",
             "| model | parameters | median step | tokens/s | ratio to torch.nn.Transformer |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['parameters']:,} | {r['median_step_ms']:.1f} ms | {r['tokens_per_s']:,.0f} | "
              f"{r['ratio_to_torch']:.2f}x |" for r in result["rows"]]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"transformer-{'quick' if args.quick else 'base'}-{device.type}{'-amp' if args.amp else ''}"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text("\n".join(lines) + f"\n\nCommand: `{report['command']}`\n")
    return report


if __name__ == "__main__":
    main()
