"""Kingma & Welling's claims that need no long training (Auto-Encoding Variational Bayes, arXiv:1312.6114).

``vae.kl-closed-form`` (Appendix B): for many random (μ, log σ²) vectors, the closed-form
−KL(q‖N(0, I)) = ½ Σ(1 + log σ² − μ² − σ²) of :func:`~paperzoo.papers.vae.model.gaussian_kl` agrees
in float64 with ``torch.distributions.kl_divergence`` and with :func:`paperzoo.metrics.divergence.kl_normal`
(exact checks), and with a Monte-Carlo estimate E_q[log q(z) − log p(z)] (which carries its standard error).

The other claims are in :mod:`.gradients`, :mod:`.curves` and :mod:`.latent`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch.distributions import Normal, kl_divergence

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import lines
from ...claims.presets import Preset
from ...metrics.divergence import kl_normal
from .model import gaussian_kl, log_normal, reparameterise

PAPER = register_paper(PaperCard(
    key="vae",
    title="Auto-Encoding Variational Bayes",
    authors="Diederik P. Kingma, Max Welling",
    year=2013,
    arxiv="1312.6114",
    venue="ICLR 2014",
    problem=("Learning a directed model p_θ(x, z) with continuous latent variables whose posterior p_θ(z|x) is "
             "intractable, on large data sets: mean-field VI needs intractable expectations, sampling per example "
             "(MCMC) is too slow, and the naive score-function gradient of the variational bound has very high "
             "variance."),
    idea=("Reparameterise the approximate posterior: z = μ_φ(x) + σ_φ(x) ⊙ ε with ε ~ N(0, I) (Eq. 10), so a "
          "Monte-Carlo estimate of the variational lower bound (ELBO) is differentiable in φ and θ (the SGVB "
          "estimator, Eqs. 6-7; with a Gaussian q and prior the KL term is in closed form, Appendix B). An encoder "
          "network q_φ(z|x) and a decoder p_θ(x|z) are trained jointly by SGD on it: the variational auto-encoder."),
    notes=("Claims in four modules: experiments (the closed-form KL), gradients (the estimators' variance), curves "
           "(Figs. 2-3: AEVB vs wake-sleep) and latent (the manifold, the KL weight, anomaly detection).",
           "log p(x) by importance sampling with q(z|x), not the paper's HMC-based estimator; Monte-Carlo EM and "
           "the Frey-face experiments are not run."),
))

#: float64 machine epsilon.
EPS = float(torch.finfo(torch.float64).eps)


# --- vae.kl-closed-form --------------------------------------------------------------------------

@dataclass(frozen=True)
class KlDraws:
    """``vectors``: random (μ, log σ²) vectors checked in closed form; ``mc_vectors`` more get a
    Monte-Carlo estimate from ``mc_samples`` draws each."""

    vectors: int = 10_000
    dim: int = 20                   # latent dimensions (the paper's MNIST runs use 3 to 200)
    mu_std: float = 1.0             # μ ~ N(0, mu_std²)
    logvar_range: tuple[float, float] = (-3.0, 2.0)   # log σ² ~ U(range)
    mc_vectors: int = 4
    mc_samples: int = 200_000
    chunk: int = 50_000


@dataclass(frozen=True, kw_only=True)
class KlPreset(Preset):
    """How many vectors and samples are drawn (``train``: a :class:`KlDraws`, not a training recipe)."""

    train: KlDraws = field(default_factory=KlDraws)
    #: Monte-Carlo check: the mean relative deviation from the closed form must lie within this band.
    mc_margin: float = 0.01

    SMOKE: ClassVar[dict[str, str]] = {"train.vectors": "4", "train.mc_vectors": "2", "train.mc_samples": "2000"}


def rounding_bound(p: KlPreset) -> float:
    """16·d·ε: two float64 computations of a sum of d terms of a few operations each differ by at most a
    few roundings per term, relative to the terms' magnitude (a safety factor of 4 over 4 roundings)."""
    return 16 * p.train.dim * EPS


def draw_vectors(gen: torch.Generator, c: KlDraws, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random (μ, log σ²) pairs of ``c.dim`` dimensions, float64."""
    mu = c.mu_std * torch.randn(n, c.dim, generator=gen, dtype=torch.float64)
    lo, hi = c.logvar_range
    logvar = lo + (hi - lo) * torch.rand(n, c.dim, generator=gen, dtype=torch.float64)
    return mu, logvar


def closed_form_deviations(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """The largest deviations of :func:`gaussian_kl` from torch's KL and from ``kl_normal``, each relative to
    the magnitude of the terms ½ Σ(1 + |log σ²| + μ² + σ²) (the scale of the rounding); and the KLs."""
    ours = gaussian_kl(mu, logvar)  # (n,)
    sigma = (0.5 * logvar).exp()
    ref = kl_divergence(Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    ref2 = kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(mu), sum_last=True)
    scale = 0.5 * (1 + logvar.abs() + mu.square() + logvar.exp()).sum(-1)
    return float(((ours - ref).abs() / scale).max()), float(((ours - ref2).abs() / scale).max()), ours


def monte_carlo_kl(gen: torch.Generator, mu: torch.Tensor, logvar: torch.Tensor, c: KlDraws) -> tuple[float, float]:
    """E_q[log q(z) − log p(z)] for one (μ, log σ²) (d,) from ``c.mc_samples`` draws: estimate and standard error."""
    total = total_sq = 0.0
    done = 0
    while done < c.mc_samples:
        n = min(c.chunk, c.mc_samples - done)
        eps = torch.randn(n, c.dim, generator=gen, dtype=torch.float64)
        z = reparameterise(mu.expand(n, -1), logvar.expand(n, -1), eps)  # (n, d)
        ratio = log_normal(z, mu, logvar) - log_normal(z)  # (n,): log q(z) − log p(z)
        total, total_sq, done = total + float(ratio.sum()), total_sq + float(ratio.square().sum()), done + n
    mean = total / done
    var = max(total_sq / done - mean * mean, 0.0) * done / max(done - 1, 1)
    return mean, math.sqrt(var / done)


MC_KEY = "monte_carlo/relative_deviation"


def kl_experiment(ctx: RunContext) -> Outcome:
    c: KlDraws = ctx.preset.train
    dev_torch, dev_metrics, mc_rel, mc_se = [], [], [], []
    shown: tuple[list[float], list[float], list[float]] = ([], [], [])
    for seed in ctx.seeds:
        gen = torch.Generator().manual_seed(seed)
        worst_t = worst_m = 0.0
        done = 0
        while done < c.vectors:
            n = min(c.chunk, c.vectors - done)
            mu, logvar = draw_vectors(gen, c, n)
            dt, dm, _ = closed_form_deviations(mu, logvar)
            worst_t, worst_m, done = max(worst_t, dt), max(worst_m, dm), done + n
        dev_torch.append(worst_t)
        dev_metrics.append(worst_m)
        mu, logvar = draw_vectors(gen, c, max(1, c.mc_vectors))
        closed = gaussian_kl(mu, logvar)
        rel, se = [], []
        for i in range(mu.shape[0]):
            est, err = monte_carlo_kl(gen, mu[i], logvar[i], c)
            rel.append((est - float(closed[i])) / float(closed[i]))
            se.append(err / float(closed[i]))
            if seed == ctx.seeds[0]:
                shown[0].append(float(closed[i]))
                shown[1].append(est)
                shown[2].append(err)
        mc_rel.append(statistics.fmean(rel))
        mc_se.append(math.sqrt(sum(s * s for s in se)) / len(se))
    out = Outcome(data=f"random vectors: μ ~ N(0, {c.mu_std:g}²), log σ² ~ U{c.logvar_range}, {c.dim} dimensions")
    out.add_exact("max_scaled_deviation/torch", dev_torch)
    out.add_exact("max_scaled_deviation/kl_normal", dev_metrics)
    out.add_exact("vectors", float(c.vectors * len(ctx.seeds)))
    out.add(MC_KEY, mc_rel)           # noise: the Monte-Carlo standard error
    out.value_se[MC_KEY] = mc_se
    rows = ["| check | value |", "|---|---|",
            f"| largest deviation from torch's KL, relative to the terms' magnitude | {max(dev_torch):.2e} |",
            f"| largest deviation from kl_normal, relative to the terms' magnitude | {max(dev_metrics):.2e} |",
            f"| rounding bound 16·d·ε | {rounding_bound(ctx.preset):.2e} |",
            "", "| closed form KL (nats) | Monte Carlo (nats) | standard error |", "|---|---|---|"]
    rows += [f"| {a:.4f} | {b:.4f} | {s:.4f} |" for a, b, s in zip(*shown)]
    out.tables.append("\n".join(rows))
    top = max([*shown[0], *shown[1], 1.0]) * 1.05
    out.figures.append(lines(ctx.run_dir / "kl_monte_carlo.png",
                             {"random (μ, log σ²)": (shown[0], shown[1]), "y = x": ([0.0, top], [0.0, top])},
                             styles={"random (μ, log σ²)": "o", "y = x": "--"},
                             xlabel="closed form KL (nats, Appendix B)", ylabel="Monte-Carlo E_q[log q − log p]",
                             title="KL(q‖N(0, I)): closed form vs Monte Carlo"))
    out.notes += [
        f"{c.vectors:,} vectors per seed (seeds {', '.join(map(str, ctx.seeds))}), float64. Deviations are divided "
        "by ½ Σ(1 + |log σ²| + μ² + σ²), the magnitude of the summed terms, since the KL itself can be near 0.",
        f"Monte Carlo: {c.mc_vectors} vectors per seed, {c.mc_samples:,} draws z = μ + σ ⊙ ε each; recorded is the "
        "mean relative deviation (estimate − closed form) / closed form with its standard error.",
    ]
    return out


#: Per preset: vectors checked in closed form, vectors with a Monte-Carlo estimate, draws per estimate,
#: seeds, and how long it takes.
KL_SIZES = {"quick": (10_000, 4, 200_000, 1, "seconds on 2 CPU cores"),
            "cpu": (200_000, 8, 2_000_000, 2, "a minute on 2 CPU cores"),
            "full": (1_000_000, 16, 10_000_000, 3, "minutes on any machine")}


def kl_preset(vectors: int, mc_vectors: int, mc_samples: int, seeds: int, takes: str) -> KlPreset:
    draws = KlDraws(vectors=vectors, mc_vectors=mc_vectors, mc_samples=mc_samples)
    return KlPreset(description=f"{vectors:,} random {draws.dim}-d vectors, {mc_vectors} Monte-Carlo estimates of "
                                f"{mc_samples:,} draws, {seeds} seed{'s' if seeds > 1 else ''}; {takes}",
                    train=draws, seeds=seeds)


register_claim(Claim(
    id="vae.kl-closed-form",
    paper="vae",
    title="The Gaussian KL term of the ELBO has a closed form",
    statement=("With q_φ(z|x) = N(μ, diag σ²) and p(z) = N(0, I), −KL(q‖p) = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), "
               "so estimator B (Eq. 7) needs sampling only for the reconstruction term."),
    source="Appendix B; Eq. 7 (Section 2.3)",
    presets={name: kl_preset(*sizes) for name, sizes in KL_SIZES.items()},
    experiment=kl_experiment,
    verdict=R.all_of(
        R.at_most("max_scaled_deviation/torch", R.Of(rounding_bound, "16·d·ε (float64 rounding)"),
                  words="largest deviation from torch's kl_divergence, relative to the terms (exact)"),
        R.at_most("max_scaled_deviation/kl_normal", R.Of(rounding_bound, "16·d·ε (float64 rounding)"),
                  words="largest deviation from paperzoo's kl_normal, relative to the terms (exact)"),
        R.within(MC_KEY, 0.0, tolerance=R.Of(lambda p: p.mc_margin, "the preset's mc_margin (1%)"),
                 words="Monte-Carlo KL's relative deviation from the closed form"),
    ),
    notes=("Exact float64 checks, compared with the rounding bound; only the Monte-Carlo estimate has noise (its "
           "standard error).",),
))
