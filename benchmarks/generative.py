"""One epoch of MNIST for the VAE (Kingma & Welling's 784-500-20) and the GAN (Goodfellow et al.'s MNIST
pair), trained by paperzoo and by a straightforward PyTorch loop of the same model in the same run.

The straightforward loop is what a user writes first: a ``DataLoader`` over ``TensorDataset`` of MNIST
tensors (batch 100, shuffled), eager fp32, the optimiser stepped per batch. paperzoo's side is its own
training path: the shared loop with a VAE task (``papers/vae/task.py``) over ``DeviceLoader`` (the data set
held as one tensor on the device, batches by indexing), and the GAN's Algorithm 1 loop. Both sides train
the same architecture with the same optimiser for one epoch (600 batches of 100); the ratio is their
wall-time ratio. Writes ``<out>/generative-<device>.json`` with timings, sizes, seed and hardware.

    PAPERZOO_DATA=../shared/data python benchmarks/generative.py             # one epoch each
    PAPERZOO_DATA=../shared/data python benchmarks/generative.py --steps 50  # a smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from paperzoo.data import load_dataset
from paperzoo.data.root import data_root
from paperzoo.papers.gan.algorithm import train_gan
from paperzoo.papers.gan.mnist import EpochBatches, mnist_models, mnist_train
from paperzoo.papers.vae.model import VAE, negative_elbo
from paperzoo.papers.vae.task import VAETask, adagrad, grey_levels
from paperzoo.train.env import hardware
from paperzoo.train.loop import Trainer


def plain_vae_epoch(x: torch.Tensor, steps: int, seed: int, device: str) -> float:
    """The straightforward loop: DataLoader over TensorDataset, eager fp32, Adagrad; seconds for ``steps``."""
    torch.manual_seed(seed)
    model = VAE(hidden=500, latent=20).to(device)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.02, weight_decay=1 / 60_000)
    loader = DataLoader(TensorDataset(x), batch_size=100, shuffle=True, drop_last=True)
    start = time.perf_counter()
    done = 0
    while done < steps:
        for (batch,) in loader:
            loss, _ = negative_elbo(model, batch.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return time.perf_counter() - start


def paperzoo_vae_epoch(root: str, steps: int, seed: int, device: str, compile: bool) -> float:
    """paperzoo's path: the shared loop with the VAE task; seconds of training for ``steps``."""
    torch.manual_seed(seed)
    model = VAE(hidden=500, latent=20)
    task = VAETask(root=root, seed=seed, device=device)
    cfg = adagrad(steps)
    cfg = type(cfg)(**{**cfg.__dict__, "device": device, "progress": False, "compile": compile, "seed": seed})
    result = Trainer(model, task, cfg).fit()
    return result.train_seconds


def plain_gan_epoch(x: torch.Tensor, steps: int, seed: int, device: str) -> float:
    """The straightforward Algorithm 1 (k = 1): a DataLoader batch for D's step against fresh samples, then G's
    non-saturating step, BCE on D's logits, SGD with momentum 0.5 at rate 0.1; seconds for ``steps``."""
    G, D = mnist_models(x, seed)
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1, momentum=0.5)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1, momentum=0.5)
    bce = torch.nn.BCEWithLogitsLoss()
    loader = DataLoader(TensorDataset(x), batch_size=100, shuffle=True, drop_last=True)
    ones, zeros = torch.ones(100, 1, device=device), torch.zeros(100, 1, device=device)
    start = time.perf_counter()
    done = 0
    while done < steps:
        for (batch,) in loader:
            batch = batch.to(device)
            fake = G(torch.rand(100, 100, device=device) * 2 * 3 ** 0.5 - 3 ** 0.5)
            loss_d = bce(D(batch), ones) + bce(D(fake.detach()), zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            fake = G(torch.rand(100, 100, device=device) * 2 * 3 ** 0.5 - 3 ** 0.5)
            loss_g = bce(D(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            done += 1
            if done == steps:
                break
    return time.perf_counter() - start


def paperzoo_gan_epoch(x: torch.Tensor, steps: int, seed: int, device: str) -> float:
    """paperzoo's Algorithm 1 (:func:`paperzoo.papers.gan.algorithm.train_gan`, mnist.yaml's rates); seconds."""
    G, D = mnist_models(x, seed)
    G, D = G.to(device), D.to(device)
    start = time.perf_counter()
    train_gan(G, D, EpochBatches(x.to(device)), mnist_train(steps), seed=seed)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600, help="batches of 100 (600: one epoch of MNIST)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", help="paperzoo's side with torch.compile")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)
    root = str(data_root(None))
    x = grey_levels(load_dataset("mnist", "train", root=root))
    rows = {}
    plain = plain_vae_epoch(x, args.steps, args.seed, args.device)
    ours = paperzoo_vae_epoch(root, args.steps, args.seed, args.device, args.compile)
    rows["vae"] = {"plain_seconds": round(plain, 2), "paperzoo_seconds": round(ours, 2),
                   "speedup": round(plain / ours, 2)}
    plain = plain_gan_epoch(x, args.steps, args.seed, args.device)
    ours = paperzoo_gan_epoch(x, args.steps, args.seed, args.device)
    rows["gan"] = {"plain_seconds": round(plain, 2), "paperzoo_seconds": round(ours, 2),
                   "speedup": round(plain / ours, 2)}
    report = {"steps": args.steps, "batch": 100, "seed": args.seed, "device": args.device, "compile": args.compile,
              "models": rows, "hardware": hardware(torch.device(args.device)), "torch": torch.__version__,
              "threads": torch.get_num_threads(),
              "command": "PAPERZOO_DATA=../shared/data python benchmarks/generative.py"
                         + (f" --steps {args.steps}" if args.steps != 600 else "")
                         + (" --compile" if args.compile else "")}
    out = Path(args.out) / f"generative-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return out


if __name__ == "__main__":
    main()
