"""``vae.reparameterisation`` (Sections 2.2-2.4): the reparameterised gradient estimator of the ELBO has far
lower variance than the score-function (REINFORCE) estimator of the same gradient.

For a VAE at initialisation and after a short AEVB training run, and for test images, both estimators of
∇_φ ELBO(x) are drawn many times with L = 1 (:func:`~paperzoo.papers.vae.model.posterior_gradients`), over the
parameters of q's two linear heads (μ = W₂h + b₂, log σ² = W₃h + b₃): per image, the total variance
(the trace of the estimator's covariance over those parameters) of each estimator, and their ratio. Both
are unbiased for the same gradient, so their means are also compared (reported).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import register_claim
from ...claims.figures import line_panels
from ...claims.presets import Preset
from ...data import load_dataset
from ...data.root import data_root
from .model import VAE, posterior_gradients
from .task import adagrad, grey_levels, train_vae

ESTIMATORS = ("reparameterised", "score-function")


@dataclass(frozen=True)
class Draws:
    """``images`` test images, ``draws`` single-sample gradient estimates per image and estimator."""

    images: int = 20
    draws: int = 2000
    hidden: int = 500
    latent: int = 20


@dataclass(frozen=True, kw_only=True)
class GradientPreset(Preset):
    """``train``: the short AEVB run (Adagrad, the paper's optimiser) after which the gradients are measured
    again; ``measure``: the draws."""

    measure: Draws = field(default_factory=Draws)
    #: the claim: the score-function estimator's variance is at least 10^min_orders times the reparameterised one's
    min_orders: float = 1.0

    SMOKE: ClassVar[dict[str, str]] = {"measure.images": "3", "measure.draws": "50", "measure.hidden": "16",
                                       "measure.latent": "4"}


def variance_ratio_key(stage: str) -> str:
    return f"log10_variance_ratio/{stage}"


def measure(model: VAE, images: torch.Tensor, draws: int) -> dict[str, list[float]]:
    """Per image: both estimators' total variance over the heads' parameters, log10 of their ratio, and the
    mean squared standardised difference of their means per coordinate (≈ 1 when both are unbiased)."""
    rows: dict[str, list[float]] = {"reparameterised": [], "score-function": [], "log10_ratio": [], "agreement": []}
    for x in images:
        stats = {}
        for est in ESTIMATORS:
            g_mu, g_logvar, h = posterior_gradients(model, x, draws, est)
            g = torch.cat([g_mu, g_logvar], 1).double()  # (draws, 2·latent)
            # Var over draws of g hᵀ (weights) and g (biases): Var(g_i)·(‖h‖² + 1), summed
            stats[est] = (g.mean(0), g.var(0), float(g.var(0).sum()) * (float(h.double().square().sum()) + 1))
        (m_r, v_r, t_r), (m_s, v_s, t_s) = stats["reparameterised"], stats["score-function"]
        rows["reparameterised"].append(t_r)
        rows["score-function"].append(t_s)
        rows["log10_ratio"].append(math.log10(t_s / t_r))
        rows["agreement"].append(float(((m_s - m_r).square() / ((v_s + v_r) / draws)).mean()))
    return rows


def gradient_experiment(ctx: RunContext) -> Outcome:
    p: GradientPreset = ctx.preset
    c = p.measure
    test = load_dataset("mnist", "test", root=str(data_root(ctx.data_root)))
    images = grey_levels(test)[: c.images]
    out = Outcome(data=test.source)
    per_stage: dict[str, dict[str, list[list[float]]]] = {}
    for seed in ctx.seeds:
        torch.manual_seed(seed)
        stages = {"initialisation": VAE(hidden=c.hidden, latent=c.latent)}
        stages["trained"] = train_vae(ctx, "aevb", p.train, seed=seed, hidden=c.hidden, latent=c.latent).model
        for stage, model in stages.items():
            torch.manual_seed(seed + 1)
            rows = measure(model, images, c.draws)
            for k, v in rows.items():
                per_stage.setdefault(stage, {}).setdefault(k, []).append(v)
    table = ["| model | images | total variance, reparameterised | total variance, score function | "
             "log₁₀ ratio (mean over images) | mean squared standardised difference of the means |",
             "|---|---|---|---|---|---|"]
    for stage, rows in per_stage.items():
        out.add_items(variance_ratio_key(stage), rows["log10_ratio"])   # noise: between images
        out.add(f"agreement/{stage}", [statistics.fmean(a) for a in rows["agreement"]])
        flat = {k: [x for s in v for x in s] for k, v in rows.items()}
        table.append(f"| {stage} | {len(flat['log10_ratio'])} | {statistics.median(flat['reparameterised']):.3g} "
                     f"(median) | {statistics.median(flat['score-function']):.3g} (median) | "
                     f"{out.fmt(variance_ratio_key(stage))} | {statistics.fmean(flat['agreement']):.2f} |")
    out.tables.append("\n".join(table))
    curves = {}
    for stage, rows in per_stage.items():
        ratios = sorted(x for s in rows["log10_ratio"] for x in s)
        curves[stage] = {"images, sorted": (list(range(1, len(ratios) + 1)), ratios)}
    out.figures.append(line_panels(ctx.run_dir / "variance_ratio.png", curves, xlabel="test image (sorted)",
                                   ylabel="log₁₀ Var(score function) / Var(reparameterised)",
                                   title="Gradient variance over q's μ and log σ² heads, L = 1"))
    out.notes += [
        f"VAE 784-{c.hidden}-{c.latent} (tanh, Bernoulli decoder). Measured at initialisation (N(0, 0.01²) weights) "
        f"and after {p.train.steps:,} AEVB steps of batch 100 on MNIST (Adagrad at {p.train.optimizer.lr:g}).",
        f"{c.images} MNIST test images × {c.draws:,} single-sample (L = 1) estimates per estimator. Total variance: "
        "the trace of the estimator's covariance over the heads' weights and biases (Var(g_i)·(‖h‖² + 1) summed), "
        "exact from the per-draw gradients in μ and log σ² because the heads are linear.",
        "The last column compares the two estimators' means coordinate by coordinate: (mean difference)² divided by "
        "its variance, averaged; near 1 when both estimate the same gradient (heavy tails of the score function "
        "make it noisy).",
    ]
    return out


def gradient_preset(steps: int, images: int, draws: int, seeds: int, takes: str) -> GradientPreset:
    return GradientPreset(description=f"a 784-500-20 VAE at initialisation and after {steps:,} AEVB steps; "
                                      f"{images} test images × {draws:,} draws per estimator, {seeds} seed"
                                      f"{'s' if seeds > 1 else ''}; {takes}",
                          train=adagrad(steps), measure=Draws(images=images, draws=draws), seeds=seeds)


#: Per preset: AEVB steps before the second measurement, test images, draws per image, seeds, how long.
GRADIENT_SIZES = {"quick": (500, 50, 2000, 1, "about a minute on 2 CPU cores"),
                  "cpu": (5000, 200, 5000, 2, "about 10 minutes on 2 CPU cores"),
                  "full": (50_000, 1000, 10_000, 3, "an hour on one GPU")}

register_claim(Claim(
    id="vae.reparameterisation",
    paper="vae",
    title="The reparameterised gradient has far lower variance than the score-function gradient",
    statement=("The usual (naive) Monte-Carlo gradient estimator of the variational bound, "
               "E_q[f(z) ∇_φ log q_φ(z)], exhibits very high variance; the reparameterisation z = μ + σ ⊙ ε gives "
               "an estimator of the same gradient with far lower variance (by at least an order of magnitude)."),
    source="Sections 2.2 and 2.4 (Eq. 10)",
    presets={name: gradient_preset(*sizes) for name, sizes in GRADIENT_SIZES.items()},
    experiment=gradient_experiment,
    verdict=R.all_of(*(
        R.at_least(variance_ratio_key(stage), R.Of(lambda p: p.min_orders, "the preset's min_orders (1)"),
                   fails_below=0.0, words=f"log₁₀ of the variance ratio ({stage})")
        for stage in ("initialisation", "trained"))),
    notes=("'Far lower' is read as at least one order of magnitude (min_orders = 1); the claim fails if the "
           "score function's variance is surely below the reparameterised one's (ratio < 1).",
           "Only q's heads (μ and log σ²) are measured, not the encoder's first layer."),
))
