"""Pre-training throughput of paperzoo's BERT against Hugging Face's ``BertForPreTraining`` at the same
configuration, batch and sequence length, in one process.

Both models are built from one ``transformers.BertConfig`` (paperzoo's through
:func:`paperzoo.papers.bert.model.from_hf_config`) and start from the same weights (copied with
:func:`paperzoo.papers.bert.hf.load_hf_bert`). One training step on one batch of pre-training
instances in google's layout (``[CLS] A [SEP] B [SEP]``, two segments, the tail padded, 15% of the
real tokens masked, at most ``max_predictions`` a sequence): forward, the sum of the masked-LM and NSP
cross-entropies, backward, AdamW. The difference is how each computes it:

* **paperzoo**: :class:`~paperzoo.papers.bert.model.BertForPreTraining` with ``masked_positions``:
  the MLM head (dense, GELU, LayerNorm, the V-way output layer) runs only at the masked positions
  (google's ``gather_indexes``), the attention is PyTorch's fused kernel, the loss
  :func:`~paperzoo.papers.bert.model.pretraining_loss`;
* **HF**: ``BertForPreTraining(input_ids, token_type_ids, attention_mask, labels=...,
  next_sentence_label=...)``, whose MLM head computes the logits at every position and whose loss
  ignores the unmasked ones (label -100), with its default attention implementation (``sdpa``).

The two alternate in rounds of ``--steps`` steps, so a change in the machine's load hits both;
throughput is tokens (batch x sequence length, padding included) / median step time after
``--warmup`` untimed steps. Writes ``<out>/bert-<config>-<device>.json`` and ``.md``.

    python benchmarks/bert_pretraining.py                      # BERT-Small-like on this CPU
    python benchmarks/bert_pretraining.py --config base --device cuda --amp --batch-size 32
    python benchmarks/bert_pretraining.py --quick              # a tiny CPU run (seconds)
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

from paperzoo.papers.bert.hf import load_hf_bert
from paperzoo.papers.bert.model import from_hf_config, pretraining_loss
from paperzoo.train.env import environment, hardware

#: (layers, hidden, heads) of Section 3 and google's smaller models (intermediate 4H).
CONFIGS = {"tiny": (2, 128, 2), "mini": (4, 256, 4), "small": (4, 512, 8), "medium": (8, 512, 8),
           "base": (12, 768, 12), "large": (24, 1024, 16)}
#: --quick: a tiny model and batch that run in seconds on a CPU (for the tests).
QUICK = dict(config="tiny", vocab_size=1000, batch_size=4, seq_len=32, max_predictions=5, steps=2, rounds=2,
             warmup=1)


def hf_config(name: str, vocab_size: int, seq_len: int):
    from transformers import BertConfig  # noqa: PLC0415 (a dev dependency)

    L, H, A = CONFIGS[name]
    return BertConfig(vocab_size=vocab_size, num_hidden_layers=L, hidden_size=H, num_attention_heads=A,
                      intermediate_size=4 * H, max_position_embeddings=max(512, seq_len))


def build(cfg: dict[str, Any], device: torch.device) -> dict[str, nn.Module]:
    """paperzoo's and HF's pre-training models with the same weights."""
    from transformers import BertForPreTraining  # noqa: PLC0415

    config = hf_config(cfg["config"], cfg["vocab_size"], cfg["seq_len"])
    torch.manual_seed(0)
    theirs = BertForPreTraining(config)
    ours = load_hf_bert(from_hf_config(config), theirs.state_dict())
    return {"paperzoo": ours.to(device), "hf": theirs.to(device)}


def batch(cfg: dict[str, Any], device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """One batch in google's layout: ids in [5, V), [CLS]=2 first, [SEP]=3 after each segment, a
    random length in [L/2, L] and [PAD]=0 after it; 15% of the real non-special tokens masked (at
    most ``max_predictions``), their positions padded with 0 and weight 0; random NSP labels."""
    g = torch.Generator().manual_seed(seed)
    B, L, P, V = cfg["batch_size"], cfg["seq_len"], cfg["max_predictions"], cfg["vocab_size"]
    ids = torch.randint(5, V, (B, L), generator=g)
    types = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=torch.long)
    positions = torch.zeros(B, P, dtype=torch.long)
    weights = torch.zeros(B, P)
    for b in range(B):
        n = int(torch.randint(L // 2, L + 1, (1,), generator=g))
        a = n // 2
        ids[b, 0], ids[b, a], ids[b, n - 1], ids[b, n:] = 2, 3, 3, 0
        types[b, a + 1:n], mask[b, :n] = 1, 1
        candidates = torch.tensor([i for i in range(1, n - 1) if i != a])
        k = min(P, max(1, round(0.15 * n)))
        chosen = candidates[torch.randperm(len(candidates), generator=g)[:k]].sort().values
        positions[b, :k], weights[b, :k] = chosen, 1.0
    labels_at = ids.gather(1, positions)  # the original tokens at the masked positions
    inputs = ids.scatter(1, positions, torch.where(weights > 0, 4, ids.gather(1, positions)))  # [MASK]=4
    # HF's labels: the original token at the masked positions, -100 elsewhere (padded slots point at [CLS])
    dense = torch.full((B, L), -100, dtype=torch.long).scatter(1, positions, torch.where(weights > 0, labels_at, -100))
    nsp = torch.randint(0, 2, (B,), generator=g)
    out = {"input_ids": inputs, "token_type_ids": types, "attention_mask": mask, "masked_positions": positions,
           "masked_ids": labels_at, "masked_weights": weights, "labels": dense, "next_sentence_label": nsp}
    return {k: v.to(device) for k, v in out.items()}


def loss_of(name: str, model: nn.Module, b: dict[str, torch.Tensor]) -> torch.Tensor:
    if name == "paperzoo":
        out = model(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["masked_positions"])
        return pretraining_loss(out.mlm_logits, b["masked_ids"], out.nsp_logits, b["next_sentence_label"],
                                mlm_weights=b["masked_weights"]).loss
    return model(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
                 labels=b["labels"], next_sentence_label=b["next_sentence_label"]).loss


def time_steps(name: str, model: nn.Module, opt: torch.optim.Optimizer, b: dict[str, torch.Tensor], n: int,
               device: torch.device, amp: bool) -> list[float]:
    """Seconds of each of ``n`` training steps."""
    out = []
    for _ in range(n):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = loss_of(name, model, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        out.append(time.perf_counter() - t0)
    return out


def run(cfg: dict[str, Any], *, device: torch.device, amp: bool) -> dict[str, Any]:
    models = build(cfg, device)
    b = batch(cfg, device)
    with torch.no_grad():  # the same weights give the same loss (dropout off): the comparison is fair
        for m in models.values():
            m.eval()
        same = {k: float(loss_of(k, m, b)) for k, m in models.items()}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01) for k, m in models.items()}
    for m in models.values():
        m.train()
    times: dict[str, list[float]] = {k: [] for k in models}
    for name, m in models.items():
        time_steps(name, m, opts[name], b, cfg["warmup"], device, amp)
    for _ in range(cfg["rounds"]):
        for name, m in models.items():
            times[name] += time_steps(name, m, opts[name], b, cfg["steps"], device, amp)
    tokens = cfg["batch_size"] * cfg["seq_len"]
    rows = [{"model": name, "parameters": sum(p.numel() for p in models[name].parameters()),
             "median_step_ms": 1000 * statistics.median(t), "tokens_per_s": tokens / statistics.median(t),
             "steps_timed": len(t), "eval_loss_same_weights": same[name]} for name, t in times.items()]
    base = rows[-1]["tokens_per_s"]
    for r in rows:
        r["ratio_to_hf"] = r["tokens_per_s"] / base
    return {"rows": rows, "tokens_per_batch": tokens}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (as paperzoo's training loop on CUDA)")
    p.add_argument("--config", choices=sorted(CONFIGS), default="small")
    p.add_argument("--vocab-size", type=int, default=30522)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--max-predictions", type=int, default=20)
    p.add_argument("--steps", type=int, default=5, help="timed steps per model per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds, the models alternating")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="a tiny model and batch on the CPU, a few steps (seconds)")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)
    cfg = {k: getattr(args, k) for k in ("config", "vocab_size", "batch_size", "seq_len", "max_predictions", "steps",
                                         "rounds", "warmup")}
    if args.quick:
        cfg = dict(QUICK)
        args.device = "cpu"
        args.threads = args.threads or 1
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    result = run(cfg, device=device, amp=args.amp)
    precision = "bf16 autocast" if args.amp else "fp32"
    L, H, A = CONFIGS[cfg["config"]]
    config = (f"BERT {cfg['config']} (L={L}, H={H}, A={A}), vocabulary {cfg['vocab_size']:,}; batch "
              f"{cfg['batch_size']} x {cfg['seq_len']} tokens, up to {cfg['max_predictions']} masked a sequence")
    command = "python benchmarks/bert_pretraining.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {"config": config, "device": hardware(device), "precision": precision, **result,
              "threads": torch.get_num_threads(),
              "env": {k: v for k, v in environment(device).items() if k != "argv"}, "command": command.strip()}
    lines = [f"BERT pre-training step, {precision}, on {report['device']}", f"({config})", "",
             "| model | parameters | median step | tokens/s | ratio to HF |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['parameters']:,} | {r['median_step_ms']:.1f} ms | {r['tokens_per_s']:,.0f} | "
              f"{r['ratio_to_hf']:.2f}x |" for r in result["rows"]]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"bert-{'quick' if args.quick else cfg['config']}-{device.type}{'-amp' if args.amp else ''}"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text("\n".join(lines) + f"\n\nCommand: `{report['command']}`\n")
    return report


if __name__ == "__main__":
    main()
