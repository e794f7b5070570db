"""Training throughput of CIFAR CNNs: paperzoo's loop against a straightforward eager fp32 loop.

For each model, both loops train the same registered model on the same data in the same process:

* **baseline**: what a tutorial writes. A ``torch.utils.data.DataLoader`` over the uint8 images on
  the CPU with per-image random crop (4-pixel padding) and flip in worker processes, pinned memory,
  fp32, NCHW, eager mode, ``loss.item()`` every step.
* **paperzoo**: the shared training loop (:class:`paperzoo.train.Trainer`) with the dataset held
  on the device as one uint8 tensor and augmented there, bf16 autocast on CUDA, channels_last, and
  optionally ``torch.compile`` (``reduce-overhead`` adds CUDA graphs).

Throughput is the median of per-interval images/s after warm-up (compilation excluded). The
default models are the CIFAR networks of the AlexNet, VGG and DenseNet claims; any registered
model for 32x32 images works (``benchmarks/resnet_throughput.py`` is this benchmark for ResNet-56).

    python benchmarks/cnn_throughput.py --device cuda          # on the GPU machine
    python benchmarks/cnn_throughput.py --quick                # a smoke run on a CPU, seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from paperzoo.data import channel_stats, load_dataset
from paperzoo.errors import DataError
from paperzoo.optim import OptimizerConfig, ScheduleConfig
from paperzoo.registry import create_model, model_entry
from paperzoo.train.classification import DataConfig, train_classifier
from paperzoo.train.env import environment, hardware
from paperzoo.train.loop import TrainConfig

#: AlexNet's CIFAR-10 net, VGG-16 for CIFAR, DenseNet-BC (L=100, k=12).
DEFAULT_MODELS = ("cifar_convnet", "vgg16_cifar", "densenet_bc100")
#: ``--quick``: tiny models and a few iterations, for a CPU (the test suite runs it).
QUICK = {"models": "densenet_tiny,vgg_tiny", "steps": 4, "warmup": 2, "batch_size": 16, "workers": 0,
         "variants": "eager"}
COMPILE_MODES = {"eager": None, "compile": "default", "cudagraphs": "reduce-overhead"}


class AugmentedImages(torch.utils.data.Dataset):
    """Per-image pad-4 random crop, flip and normalisation on the CPU, as torchvision transforms do."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: Sequence[float], std: Sequence[float]):
        self.images, self.labels = images, labels
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        _, h, w = self.images[i].shape
        x = F.pad(self.images[i].float() / 255, (4, 4, 4, 4))
        top, left = torch.randint(0, 9, (2,)).tolist()
        x = x[:, top:top + h, left:left + w]
        if torch.rand(()) < 0.5:
            x = x.flip(2)
        return (x - self.mean) / self.std, self.labels[i]


def _interval(steps: int) -> int:
    """Iterations per throughput measurement: 20, fewer for very short runs."""
    return max(1, min(20, steps // 5))


def baseline(images, labels, *, model_name, steps, warmup, batch_size, device, workers) -> float:
    """Median images/s of the straightforward loop (module docstring), after ``warmup`` iterations."""
    torch.manual_seed(0)
    model = create_model(model_name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    mean, std = channel_stats(images)
    loader = torch.utils.data.DataLoader(AugmentedImages(images, labels, mean, std),
                                         batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=workers > 0)
    rates, done, every = [], 0, _interval(steps)
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
            if done % every == 0 and n:
                rates.append(n / (time.perf_counter() - t0))
                t0, n = time.perf_counter(), 0
            if done >= steps + warmup:
                break
    return statistics.median(rates) if rates else float("nan")


def ours(*, model_name, steps, warmup, batch_size, device, compile_mode, data_root, dataset="cifar10") -> float:
    """Median images/s of paperzoo's loop (module docstring), after ``warmup`` iterations."""
    data = DataConfig(dataset=dataset, batch_size=batch_size, augment=True, val_size=5000, eval_subset=500)
    cfg = TrainConfig(steps=warmup + steps, optimizer=OptimizerConfig(lr=0.1), progress=False,
                      schedule=ScheduleConfig(name="constant"), log_every=_interval(steps), device=str(device),
                      amp=True, channels_last=True, compile=compile_mode is not None,
                      compile_mode=compile_mode or "default")
    result, _, _ = train_classifier(model_entry(model_name), data, cfg, data_root=data_root)
    rates = [r["samples_per_s"] for r in result.records if r["split"] == "train" and r["step"] > warmup]
    return statistics.median(rates)


def benchmark(model_name: str, train, *, device: torch.device, steps: int, warmup: int, batch_size: int,
              workers: int, variants: Sequence[str], data_root: str | None, dataset: str = "cifar10",
              paper_iterations: int = 0) -> list[dict]:
    """One row per loop: the baseline first, then each paperzoo variant, with its speed-up over the
    baseline, the time of one epoch of ``train`` and, with ``paper_iterations``, of that schedule."""
    results = {"baseline (fp32 eager, CPU DataLoader)": baseline(
        train.images, train.labels, model_name=model_name, steps=steps, warmup=min(warmup, 20),
        batch_size=batch_size, device=device, workers=workers)}
    for variant in variants:
        mode = COMPILE_MODES[variant]
        label = f"paperzoo ({'bf16' if device.type == 'cuda' else 'fp32'}, channels_last, device-resident data" \
                f"{', torch.compile ' + mode if mode else ', eager'})"
        results[label] = ours(model_name=model_name, steps=steps, warmup=warmup if mode else min(warmup, 10),
                              batch_size=batch_size, device=device, compile_mode=mode, data_root=data_root,
                              dataset=dataset)
    base = next(iter(results.values()))
    rows = []
    for label, rate in results.items():
        row = {"variant": label, "images_per_s": rate, "speedup": rate / base, "epoch_s": len(train) / rate}
        if paper_iterations:
            row["projected_paper_schedule_min"] = paper_iterations * batch_size / rate / 60
        rows.append(row)
    return rows


def table(model_name: str, rows: list[dict], *, batch_size: int, device: str, data: str,
          paper_iterations: int = 0) -> list[str]:
    """Markdown lines: one row per loop."""
    paper = f" {paper_iterations // 1000}k iterations |" if paper_iterations else ""
    lines = [f"{model_name}, batch {batch_size}, on {device} ({data})", "",
             f"| variant | images/s | speedup | one epoch |{paper}", "|---|---|---|---|" + ("---|" if paper else "")]
    for r in rows:
        extra = f" {r['projected_paper_schedule_min']:.1f} min |" if paper_iterations else ""
        lines.append(f"| {r['variant']} | {r['images_per_s']:.0f} | {r['speedup']:.2f}x | {r['epoch_s']:.1f} s |"
                     + extra)
    return lines


def main(argv: Sequence[str] | None = None, *, default_models: Sequence[str] = DEFAULT_MODELS,
         paper_iterations: int = 0, script: str = "benchmarks/cnn_throughput.py",
         description: str | None = None) -> list[Path]:
    """The command line; returns the report files written (``<out>/<model>-<device>.json`` and ``.md``)."""
    p = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    p.add_argument("--models", "--model", dest="models", default=",".join(default_models),
                   help="registered models for 32x32 images, comma-separated")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=300, help="timed iterations per variant")
    p.add_argument("--warmup", type=int, default=60, help="untimed iterations first (compilation)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=8, help="baseline DataLoader workers")
    p.add_argument("--data-root", default=None)
    p.add_argument("--variants", default="eager,compile,cudagraphs",
                   help="paperzoo variants: eager, compile, cudagraphs (comma-separated)")
    p.add_argument("--out", default="benchmarks/results")
    p.add_argument("--quick", action="store_true",
                   help="tiny models and a few iterations (a CPU smoke run): " +
                        ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    args = p.parse_args(argv)
    if args.quick:
        p.set_defaults(**QUICK)
        args = p.parse_args(argv)
    variants = args.variants.split(",")
    if unknown := set(variants) - set(COMPILE_MODES):
        p.error(f"unknown variants {', '.join(sorted(unknown))}; choose from {', '.join(COMPILE_MODES)}")
    device = torch.device(args.device)
    try:
        train = load_dataset("cifar10", "train", root=args.data_root)
    except DataError as e:
        raise SystemExit(f"benchmark needs CIFAR-10: {e}") from None
    env = {k: v for k, v in environment(device).items() if k != "argv"}
    command = f"python {script} " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v not in (None, False) and k != "quick")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for model_name in args.models.split(","):
        rows = benchmark(model_name, train, device=device, steps=args.steps, warmup=args.warmup,
                         batch_size=args.batch_size, workers=args.workers, variants=variants,
                         data_root=args.data_root, paper_iterations=paper_iterations)
        lines = table(model_name, rows, batch_size=args.batch_size, device=hardware(device), data=train.source,
                      paper_iterations=paper_iterations)
        print("\n".join(lines) + "\n")
        report = {"model": model_name, "batch_size": args.batch_size, "device": hardware(device),
                  "data": train.source, "steps_timed": args.steps, "rows": rows, "env": env, "command": command}
        name = f"{model_name}-{device.type}"
        (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / f"{name}.md").write_text("\n".join(lines) + "\n\nCommand: `" + command + "`\n")
        written += [out / f"{name}.json", out / f"{name}.md"]
    return written


if __name__ == "__main__":
    main()
