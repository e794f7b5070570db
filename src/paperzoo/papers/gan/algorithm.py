"""Algorithm 1 of Goodfellow et al. (2014): minibatch stochastic gradient training of adversarial nets.

    for number of training iterations:
        for k steps:
            sample m noise samples z_1..z_m from p_g(z) and m examples x_1..x_m from p_data(x)
            update D by ascending  ∇θd (1/m) Σ [log D(x_i) + log(1 − D(G(z_i)))]
        sample m noise samples z_1..z_m
        update G by descending ∇θg (1/m) Σ log(1 − D(G(z_i)))     (or ascending log D(G(z)), Section 3)

"The gradient-based updates can use any standard gradient-based learning rule. We used momentum in
our experiments" and "k = 1, the least expensive option" (Algorithm 1's caption). The rates are those
of the authors' ``mnist.yaml`` (github.com/goodfeli/adversarial; read for the facts, no code taken):
batch 100, learning rate 0.1 divided by 1.000004 after every update down to at least 1e-6
(``ExponentialDecay``), momentum 0.5 rising linearly to 0.7 between epoch 1 and epoch 250
(``MomentumAdjustor start: 1, saturate: 250``; 500 updates an epoch on 50,000 images).

Deviations from the authors' code, which the paper's Algorithm 1 does not share: the code updates D
and G *simultaneously* from one minibatch (each with its own gradient, one SGD step for both), with
the non-saturating generator loss computed through the same dropout masks as D's loss; here the
updates are sequential, as Algorithm 1 writes them, with fresh noise for G's step. torch's SGD
momentum (v ← μv + g, θ ← θ − ηv) equals pylearn2's (v ← μv − ηg, θ ← θ + v) at a constant rate; with
the slowly decaying rate they differ by under 0.0004% per update.

The loop is deliberately short (as minGPT's trainer): seeding, the two updates, the schedules and JSON
lines of metrics in the run folder (:class:`paperzoo.train.logger.MetricLogger`); no checkpoints
mid-run (the experiments save the trained generator themselves).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ...errors import TrainingDiverged
from ...train.logger import MetricLogger
from .model import Generator, GeneratorLoss, discriminator_loss, generator_loss

#: Draws a batch of m real examples (m, d) with the loop's generator.
RealBatches = Callable[[int, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class GanTrain:
    """Algorithm 1's settings. ``steps`` counts generator updates (outer iterations); each has ``k``
    discriminator updates. The rate is lr / lr_decay^t (t: updates so far, at least ``min_lr``); the
    momentum rises linearly from ``momentum`` at update ``momentum_start`` to ``final_momentum`` at
    ``momentum_saturate`` (the defaults: mnist.yaml)."""

    steps: int = 125_000
    k: int = 1
    batch_size: int = 100
    lr: float = 0.1
    lr_decay: float = 1.000004
    min_lr: float = 1e-6
    momentum: float = 0.5
    final_momentum: float = 0.7
    momentum_start: int = 500
    momentum_saturate: int = 125_000
    generator_loss: str = "non-saturating"
    log_every: int = 100


def learning_rate(c: GanTrain, t: int) -> float:
    """ExponentialDecay: η_t = max(η_0 / decay^t, min_lr)."""
    return max(c.lr * math.exp(-t * math.log(c.lr_decay)), c.min_lr)


def momentum(c: GanTrain, t: int) -> float:
    """MomentumAdjustor: μ rises linearly from μ_0 at ``momentum_start`` to μ_final at ``momentum_saturate``."""
    span = max(c.momentum_saturate - c.momentum_start, 1)
    frac = min(max((t - c.momentum_start) / span, 0.0), 1.0)
    return c.momentum + frac * (c.final_momentum - c.momentum)


@dataclass
class GanRun:
    """What :func:`train_gan` did: generator and discriminator updates, and the logged records."""

    g_steps: int = 0
    d_steps: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No weight gradients for ``module`` inside the block (its trainable parameters are restored after)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _set(opt: torch.optim.Optimizer, lr: float, mu: float) -> None:
    for group in opt.param_groups:
        group["lr"], group["momentum"] = lr, mu


def train_gan(G: Generator, D: nn.Module, real: RealBatches, c: GanTrain, *, seed: int,
              run_dir: Path | None = None, on_step: Callable[[int], None] | None = None) -> GanRun:
    """Train ``G`` and ``D`` in place by Algorithm 1 for ``c.steps`` iterations. ``real(m, gen)`` draws
    real examples; ``gen`` (seeded with ``seed``) draws them and all noise. ``on_step(t)`` is called
    after iteration t (1-based), and with t = 0 before the first. Metrics (averages over the last
    ``log_every`` iterations) go to ``run_dir/metrics.jsonl``."""
    gen = torch.Generator(device=G.out.weight.device).manual_seed(seed)   # all noise and batches, on G's device
    kind: GeneratorLoss = c.generator_loss  # type: ignore[assignment]
    generator_loss(torch.zeros(1), kind)   # an unknown kind fails before training
    opt_d = torch.optim.SGD(D.parameters(), lr=c.lr, momentum=c.momentum)
    opt_g = torch.optim.SGD(G.parameters(), lr=c.lr, momentum=c.momentum)
    logger = MetricLogger(run_dir)
    run = GanRun(records=logger.records)
    sums: dict[str, float] = {}
    m = c.batch_size
    G.train()
    D.train()
    if on_step is not None:
        on_step(0)
    for t in range(1, c.steps + 1):
        for _ in range(c.k):
            # Algorithm 1: ascend ∇θd (1/m) Σ [log D(x_i) + log(1 − D(G(z_i)))], i.e. descend −V
            x = real(m, gen)  # (m, d)
            with torch.no_grad():
                fake = G(G.sample_noise(m, generator=gen))  # (m, d)
            real_logits, fake_logits = D(x), D(fake)  # (m, 1)
            loss_d = discriminator_loss(real_logits, fake_logits)
            _set(opt_d, learning_rate(c, run.d_steps), momentum(c, run.d_steps))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            run.d_steps += 1
        # Algorithm 1: descend ∇θg (1/m) Σ log(1 − D(G(z_i)))  (or −log D(G(z_i)), Section 3)
        with frozen(D):   # G's step needs D's input gradients only, not its weight gradients
            g_logits = D(G(G.sample_noise(m, generator=gen)))  # (m, 1)
            loss_g = generator_loss(g_logits, kind)
            _set(opt_g, learning_rate(c, run.g_steps), momentum(c, run.g_steps))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        opt_g.step()
        run.g_steps += 1
        with torch.no_grad():
            step_metrics = {"loss_d": float(loss_d), "loss_g": float(loss_g),
                            "d_real": float(torch.sigmoid(real_logits).mean()),
                            "d_fake": float(torch.sigmoid(g_logits).mean())}
        if not all(math.isfinite(v) for v in step_metrics.values()):
            raise TrainingDiverged(f"GAN training diverged at iteration {t}: {step_metrics}")
        for key, v in step_metrics.items():
            sums[key] = sums.get(key, 0.0) + v
        if t % c.log_every == 0 or t == c.steps:
            n = (t - 1) % c.log_every + 1
            logger.log(t, "train", {**{key: v / n for key, v in sums.items()},
                                    "lr": learning_rate(c, run.g_steps), "momentum": momentum(c, run.g_steps)})
            sums = {}
        if on_step is not None:
            on_step(t)
    logger.close()
    G.eval()
    D.eval()
    return run
