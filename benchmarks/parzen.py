"""Wall time of the GAN paper's Parzen-window evaluation (paperzoo.metrics.parzen) at its full size.

10,000 "generator samples" against 10,000 test points of 784 dimensions (MNIST's size), random
pixels in [0, 1]: one sigma (``parzen_evaluate``) and the ten-sigma search (``select_sigma``). Writes
``<out>/parzen-<device>.json`` with the timings, the sizes, the seed and the hardware.

    python benchmarks/parzen.py                  # the full size, about 20 s on a 2-core CPU
    python benchmarks/parzen.py --n 1000         # a smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from paperzoo.metrics.parzen import parzen_evaluate, select_sigma
from paperzoo.train.env import hardware


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="samples and points each")
    p.add_argument("--dim", type=int, default=784)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)
    g = torch.Generator().manual_seed(args.seed)
    samples, points = (torch.rand(args.n, args.dim, generator=g).to(args.device) for _ in range(2))
    start = time.perf_counter()
    parzen_evaluate(samples, points, 0.2)
    one = time.perf_counter() - start
    start = time.perf_counter()
    select_sigma(samples, points)
    grid = time.perf_counter() - start
    report = {"samples": args.n, "points": args.n, "dim": args.dim, "seed": args.seed, "device": args.device,
              "dtype": "float64", "one_sigma_seconds": round(one, 2), "ten_sigma_seconds": round(grid, 2),
              "hardware": hardware(torch.device(args.device)), "torch": torch.__version__,
              "command": "python benchmarks/parzen.py" + (f" --n {args.n}" if args.n != 10_000 else "")}
    out = Path(args.out) / f"parzen-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return out


if __name__ == "__main__":
    main()
