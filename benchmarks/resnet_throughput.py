"""Training throughput of CIFAR ResNet-56 (batch 128): paperzoo's loop against a straightforward one.

Both loops train the same model on the same data in the same process:

* **baseline**: what a tutorial writes. A ``torch.utils.data.DataLoader`` over the uint8 images on
  the CPU with per-image random crop (4-pixel padding) and flip in worker processes, pinned memory,
  fp32, NCHW, eager mode, ``loss.item()`` every step.
* **paperzoo**: the shared training loop (:class:`paperzoo.train.Trainer`) with the dataset held
  on the GPU as one uint8 tensor and augmented there, bf16 autocast, channels_last, and optionally
  ``torch.compile`` (``reduce-overhead`` adds CUDA graphs).

Throughput is the median of per-interval images/s after warm-up (compilation excluded). The
report also projects the wall time of the paper's 64k-iteration schedule for each variant.

    python benchmarks/resnet_throughput.py --device cuda          # on the GPU machine
    python benchmarks/resnet_throughput.py --device cpu --steps 6  # a smoke run anywhere
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from paperzoo.data import load_dataset
from paperzoo.errors import DataError
from paperzoo.optim import OptimizerConfig, ScheduleConfig
from paperzoo.registry import create_model
from paperzoo.train.classification import DataConfig, train_classifier
from paperzoo.train.env import environment, hardware
from paperzoo.train.loop import TrainConfig

PAPER_ITERATIONS = 64000


class AugmentedCifar(torch.utils.data.Dataset):
    """Per-image pad-4 random crop, flip and normalisation on the CPU, as torchvision transforms do."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean, std):
        self.images, self.labels = images, labels
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        x = F.pad(self.images[i].float() / 255, (4, 4, 4, 4))
        top, left = torch.randint(0, 9, (2,)).tolist()
        x = x[:, top:top + 32, left:left + 32]
        if torch.rand(()) < 0.5:
            x = x.flip(2)
        return (x - self.mean) / self.std, self.labels[i]


def baseline(images, labels, *, model_name, steps, warmup, batch_size, device, workers) -> float:
    torch.manual_seed(0)
    model = create_model(model_name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(AugmentedCifar(images, labels, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
                                         batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=workers > 0)
    rates, done = [], 0
    model.train()
    while done < steps + warmup:
        t0, n = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
            done += 1
            if done > warmup:
                n += x.shape[0]
            else:
                t0 = time.perf_counter()
            if done % 20 == 0 and n:
                rates.append(n / (time.perf_counter() - t0))
                t0, n = time.perf_counter(), 0
            if done >= steps + warmup:
                break
    return statistics.median(rates) if rates else float("nan")


def ours(*, model_name, steps, warmup, batch_size, device, compile_mode, data_root) -> float:
    data = DataConfig(dataset="cifar10", batch_size=batch_size, augment=True, val_size=5000, eval_subset=500)
    log_every = max(1, min(20, steps // 5))
    cfg = TrainConfig(steps=warmup + steps, optimizer=OptimizerConfig(lr=0.1), progress=False,
                      schedule=ScheduleConfig(name="constant"), log_every=log_every, device=str(device),
                      amp=True, channels_last=True, compile=compile_mode is not None,
                      compile_mode=compile_mode or "default")
    result, _, _ = train_classifier(model_name, data, cfg, data_root=data_root)
    rates = [r["samples_per_s"] for r in result.records if r["split"] == "train" and r["step"] > warmup]
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet56")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=300, help="timed iterations per variant")
    p.add_argument("--warmup", type=int, default=60, help="untimed iterations first (compilation)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=8, help="baseline DataLoader workers")
    p.add_argument("--data-root", default=None)
    p.add_argument("--variants", default="eager,compile,cudagraphs",
                   help="paperzoo variants: eager, compile, cudagraphs (comma-separated)")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args()
    device = torch.device(args.device)
    try:
        train = load_dataset("cifar10", "train", root=args.data_root)
    except DataError as e:
        raise SystemExit(f"benchmark needs CIFAR-10: {e}") from None
    modes = {"eager": None, "compile": "default", "cudagraphs": "reduce-overhead"}
    results = {"baseline (fp32 eager, CPU DataLoader)": baseline(
        train.images, train.labels, model_name=args.model, steps=args.steps, warmup=min(args.warmup, 20),
        batch_size=args.batch_size, device=device, workers=args.workers)}
    for variant in args.variants.split(","):
        label = f"paperzoo ({'bf16' if device.type == 'cuda' else 'fp32'}, channels_last, device-resident data" \
                f"{', torch.compile ' + modes[variant] if modes[variant] else ', eager'})"
        results[label] = ours(model_name=args.model, steps=args.steps, warmup=args.warmup if modes[variant] else 10,
                              batch_size=args.batch_size, device=device, compile_mode=modes[variant],
                              data_root=args.data_root)
    base = next(iter(results.values()))
    rows = [{"variant": k, "images_per_s": v, "speedup": v / base,
             "projected_64k_iterations_min": PAPER_ITERATIONS * args.batch_size / v / 60} for k, v in results.items()]
    report = {"model": args.model, "batch_size": args.batch_size, "device": hardware(device),
              "data": train.source, "steps_timed": args.steps, "rows": rows,
              "env": {k: v for k, v in environment(device).items() if k != "argv"},
              "command": "python benchmarks/resnet_throughput.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None)}
    lines = [f"{args.model}, batch {args.batch_size}, on {report['device']} ({train.source})", "",
             "| variant | images/s | speedup | 64k iterations |", "|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['images_per_s']:.0f} | {r['speedup']:.2f}x | "
              f"{r['projected_64k_iterations_min']:.1f} min |" for r in rows]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{args.model}-{device.type}"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n\nCommand: `" + report["command"] + "`\n")


if __name__ == "__main__":
    main()
