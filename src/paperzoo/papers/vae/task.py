"""Training a VAE with the shared loop: the task (AEVB's or wake-sleep's loss on MNIST-like grey
levels) and one function every VAE claim (and Adam's Section 6.4) trains through.

Images are pixel/255 in [0, 1], read as Bernoulli means as in the paper's MNIST experiments. The
evaluation is estimator B's lower bound (Eq. 7) per image on fixed subsets of the training and test
images, so that two models evaluated on the same images are compared image by image.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from ...claims.core import RunContext
from ...claims.presets import constant
from ...data import DeviceLoader, load_dataset
from ...data.arrays import ImageArrays
from ...data.root import data_root
from ...optim import OptimizerConfig
from ...train.env import resolve_device
from ...train.loop import TrainConfig, Trainer, TrainResult
from .model import VAE, elbo_b, negative_elbo, wake_sleep_loss

Objective = Literal["aevb", "wake-sleep"]

#: Section 5: "a small weight decay term corresponding to a prior p(θ) = N(0, I)": the log-prior spread over
#: the 60,000 MNIST training images adds θ/60,000 to the gradient of the per-image loss.
PRIOR_DECAY = 1 / 60_000


def adagrad(steps: int, lr: float = 0.02, *, evaluations: int = 0) -> TrainConfig:
    """Section 5's optimiser: Adagrad (global step size ``lr``, the paper picks it from {0.01, 0.02, 0.1}) with
    the prior's weight decay, constant, fp32; ``evaluations`` evaluations along the run (0: at the end)."""
    opt = OptimizerConfig(name="adagrad", lr=lr, weight_decay=PRIOR_DECAY)
    return replace(constant(steps, opt, log_every=max(1, steps // 20),
                            eval_every=max(1, steps // evaluations) if evaluations else 0), amp=False)


def grey_levels(data: ImageArrays, device: torch.device | str = "cpu") -> torch.Tensor:
    """The images as (N, 784) float32 pixel/255."""
    return data.images.flatten(1).to(device=device, dtype=torch.float32) / 255


@torch.no_grad()
def lower_bounds(model: VAE, x: torch.Tensor, *, samples: int = 1, chunk: int = 1000) -> torch.Tensor:
    """Estimator B's ELBO per image (nats), (N,), in chunks, the model in eval mode."""
    return torch.cat([elbo_b(model, x[i:i + chunk], samples=samples) for i in range(0, len(x), chunk)])


class VAETask:
    """The negative ELBO (``objective="aevb"``, KL weighted by ``beta``) or wake-sleep's losses on a
    grey-level image set, for :class:`~paperzoo.train.loop.Trainer`. ``evaluate`` gives the mean
    lower bound (estimator B, ``eval_samples`` draws) on the first ``eval_train`` training and
    ``eval_test`` test images (0: none), and keeps the per-image bounds of the last evaluation."""

    def __init__(self, *, dataset: str = "mnist", batch_size: int = 100, seed: int = 0, root: str | None = None,
                 train_subset: int = 0, device: torch.device | str = "cpu", objective: Objective = "aevb",
                 beta: float = 1.0, eval_train: int = 0, eval_test: int = 0, eval_samples: int = 1) -> None:
        root = str(data_root(root))
        data = load_dataset(dataset, "train", root=root)
        if train_subset:
            data = data.sample(train_subset)
        self.source = data.source
        self.objective, self.beta, self.eval_samples = objective, beta, eval_samples
        self.loader = DeviceLoader(data, batch_size=batch_size, device=device, seed=seed)  # pixels/255
        self.eval_sets: dict[str, torch.Tensor] = {}
        if eval_train:
            self.eval_sets["train"] = grey_levels(data, device)[:eval_train]
        if eval_test:
            self.eval_sets["test"] = grey_levels(load_dataset(dataset, "test", root=root), device)[:eval_test]
        self.bounds: dict[str, torch.Tensor] = {}

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.loader.forever()

    def training_step(self, model: VAE, batch: tuple[torch.Tensor, torch.Tensor]):
        if self.objective == "wake-sleep":
            loss, wake, sleep = wake_sleep_loss(model, batch[0])
            return loss, {"wake": wake, "sleep": sleep}
        loss, kl = negative_elbo(model, batch[0], beta=self.beta)
        return loss, {"kl": kl}

    def evaluate(self, model: VAE) -> dict[str, float]:
        self.bounds = {split: lower_bounds(model, x, samples=self.eval_samples) for split, x in self.eval_sets.items()}
        return {f"{split}_elbo": float(b.mean()) for split, b in self.bounds.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"loader": self.loader.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loader.load_state_dict(state["loader"])


@dataclass(frozen=True)
class VAERun:
    """A trained VAE, its task (data source, last per-image bounds) and the loop's result."""

    model: VAE
    task: VAETask
    result: TrainResult


def train_vae(ctx: RunContext, name: str, train: TrainConfig, *, seed: int, hidden: int = 500, latent: int = 20,
              activation: str = "tanh", batch_size: int = 100, **task: Any) -> VAERun:
    """Train one VAE with the shared loop into ``runs/<name>-seed<seed>`` of the claim's run folder.
    ``task``: :class:`VAETask`'s settings (dataset, objective, beta, train_subset, eval_*).
    Raises :class:`~paperzoo.errors.TrainingDiverged` as the loop does."""
    cfg = replace(train, seed=seed, device=ctx.device, progress=ctx.progress and train.progress)
    vae_task = VAETask(batch_size=batch_size, seed=seed, root=ctx.data_root, device=resolve_device(cfg.device),
                       **task)
    torch.manual_seed(seed)
    model = VAE(hidden=hidden, latent=latent, activation=activation)
    meta = {"model": "vae", "model_kwargs": {"hidden": hidden, "latent": latent, "activation": activation}}
    result = Trainer(model, vae_task, cfg, run_dir=ctx.subdir("runs", f"{name}-seed{seed}"), model_meta=meta).fit()
    return VAERun(model, vae_task, result)
