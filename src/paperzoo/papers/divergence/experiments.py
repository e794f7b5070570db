"""KL and JS divergence: their defining properties checked numerically, and why the direction of
KL matters when a simple distribution is fitted to a complex one.

``divergence.properties`` draws many random pairs of discrete distributions (Dirichlet samples of
several sizes and concentrations, some with zero entries, some with disjoint supports) and checks,
in float64, what the notes (Section 9) and Lin (1991) state: KL ≥ 0 with equality only when
p = q (checked quantitatively through Pinsker's inequality KL ≥ ½‖p − q‖₁², which is 0 only at
p = q), KL is not symmetric, JS is symmetric, 0 ≤ JS ≤ log 2 with log 2 exactly on disjoint
supports, KL = +inf exactly when p puts mass where q has none; and that
:mod:`paperzoo.metrics.divergence` agrees with ``torch.distributions.kl_divergence`` and with an
independent numpy implementation, and its Gaussian closed form with torch's and with a Monte-Carlo
estimate. Everything but the Monte-Carlo estimate is an exact float64 computation (recorded with
``Outcome.add_exact``); the Monte-Carlo estimate carries its standard error.

``divergence.mode-covering`` fits one Gaussian q = N(μ, σ²) to a two-peaked mixture p by gradient
descent on (μ, log σ), once minimising the forward KL(p‖q) and once the reverse KL(q‖p), with the
divergences integrated numerically on a fine grid (trapezoid rule). Forward KL is mass-covering
(it is infinite-penalised wherever p > 0 and q ≈ 0, so q spreads over both peaks: the minimiser
matches p's mean and variance); reverse KL is mode-seeking (it penalises q > 0 where p ≈ 0, so q
sits on one peak): Bishop (2006), Section 10.1.2 and Fig. 10.3. Deterministic (no sampling),
so its quantities are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch.distributions import Categorical, Independent, Normal, kl_divergence

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import lines
from ...claims.outcome import Target
from ...claims.presets import Preset
from ...metrics.divergence import js, kl, kl_normal

PAPER = register_paper(PaperCard(
    key="divergence",
    title="Kullback–Leibler and Jensen–Shannon divergence",
    authors="Solomon Kullback, Richard A. Leibler; Jianhua Lin",
    year=1951,
    arxiv="",
    venue="Ann. Math. Statist. 22(1), 1951; IEEE Trans. Inf. Theory 37(1), 1991",
    problem=("How far is a distribution Q from a distribution P? Deep learning needs such a measure everywhere: "
             "cross-entropy training minimises KL(data‖model), a VAE's regulariser is KL(q(z|x)‖p(z)), a GAN's "
             "original objective is a JS divergence. A useful measure need not be a metric, but one must know what "
             "it is: whether it is symmetric, when it is zero, when it is infinite, and what minimising it does."),
    idea=("KL(P‖Q) = Σ P log(P/Q) (Kullback & Leibler 1951): the expected extra information (nats, or bits in "
          "base 2) of coding P with a code made for Q. It is ≥ 0 with equality iff P = Q, asymmetric, and +inf when "
          "P has mass where Q has none. JS(P, Q) = ½KL(P‖M) + ½KL(Q‖M) with M = ½(P + Q) (Lin 1991) is its "
          "symmetrised, always finite form, bounded by log 2 (1 bit), which it reaches on disjoint supports."),
    notes=("A topic from the notes (Section 9, KL and JS divergence), not one paper: no models, no data sets.",
           "The notes bound JS by 1: that holds in bits (base 2); in nats the bound is log 2 ≈ 0.693.",
           "The notes' VAE term (their eq. under 'KL 散度') drops a minus sign: KL(N(μ,σ²)‖N(0,1)) = "
           "−½Σ(1 + log σ² − μ² − σ²), which `kl_normal` computes and the tests check."),
))

#: float64 machine epsilon.
EPS = float(torch.finfo(torch.float64).eps)
#: Relative tolerance of two float64 computations of one divergence of n ≤ 1,000 terms: summation
#: rounding is at most ~n·ε ≈ 2e-13 of the terms' magnitudes, so 1e-9 is far above it and far below
#: any real disagreement (a wrong term changes a divergence by far more).
AGREE = 1e-9
#: The Monte-Carlo check: the estimate of KL(N(0,1)‖N(1,2²)) = 0.443 nats must match the closed form
#: within this many nats (about 2% of it; the standard error at 200k samples is about 0.0015).
MC_TOLERANCE = 0.01
MC_PAIR = (0.0, 1.0, 1.0, 2.0)   # μ_p, σ_p, μ_q, σ_q
LOG2 = math.log(2.0)


def rounding(n: int) -> float:
    """The relative rounding bound of a float64 sum of ``n`` terms (4nε, a safety factor of 4)."""
    return 4 * n * EPS


# --- divergence.properties -----------------------------------------------------------------------

@dataclass(frozen=True)
class Draws:
    """What the property checks draw. ``pairs``: random pairs per support size and kind (dense,
    with zeros, disjoint supports)."""

    pairs: int = 500
    sizes: tuple[int, ...] = (2, 3, 10, 100, 1000)
    #: Dirichlet concentrations, cycled over the pairs: 0.1 (spiky, tiny entries), 1 (uniform on the simplex), 10
    concentrations: tuple[float, ...] = (0.1, 1.0, 10.0)
    zero_fraction: float = 0.3      # each entry of a "zeros" pair is set to 0 with this probability
    gaussian_pairs: int = 1000      # random Gaussian pairs (and diagonal 5-d pairs) for the closed form
    mc_samples: int = 200_000       # samples of the Monte-Carlo estimate of one Gaussian KL
    chunk: int = 2000               # pairs processed at once (memory)


@dataclass(frozen=True, kw_only=True)
class PropertiesPreset(Preset):
    """How many random pairs are checked (``train``: a :class:`Draws`, not a training recipe)."""

    train: Draws = field(default_factory=Draws)

    SMOKE: ClassVar[dict[str, str]] = {"train.pairs": "4", "train.gaussian_pairs": "8", "train.mc_samples": "2000"}


def dirichlet(rng: np.random.Generator, alpha: np.ndarray, n: int) -> np.ndarray:
    """One Dirichlet(α_i·1) sample of size ``n`` per row of ``alpha`` (normalised Gamma variables)."""
    g = rng.standard_gamma(np.repeat(alpha[:, None], n, axis=1))
    return g / g.sum(-1, keepdims=True)


def draw_pairs(rng: np.random.Generator, c: Draws, n: int, count: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs (p, q) of distributions over ``n`` outcomes: ``dense``, with ``zeros`` (random
    entries of each set to 0, at least one kept), or ``disjoint`` (p and q on complementary supports)."""
    alpha = np.resize(np.asarray(c.concentrations, dtype=np.float64), count)
    p, q = dirichlet(rng, alpha, n), dirichlet(rng, alpha, n)
    if kind == "zeros":
        for x in (p, q):
            keep = rng.random(x.shape) >= c.zero_fraction
            keep[np.arange(count), x.argmax(-1)] = True
            x *= keep
            x /= x.sum(-1, keepdims=True)
    elif kind == "disjoint":
        order = np.argsort(rng.random((count, n)), axis=-1)
        split = rng.integers(1, n, size=count)[:, None]
        in_p = np.zeros((count, n), dtype=bool)
        np.put_along_axis(in_p, order, np.arange(n)[None, :] < split, axis=-1)
        p, q = p * in_p, q * ~in_p
        p /= p.sum(-1, keepdims=True)
        q /= q.sum(-1, keepdims=True)
    return p, q


def kl_numpy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p‖q) in numpy, written independently: Σ over p's support of p(log p − log q), +inf where
    p > 0 = q."""
    support = p > 0
    logs = np.log(np.where(support, p, 1.0)) - np.log(np.where(q > 0, q, 1.0))
    total = np.where(support, p * logs, 0.0).sum(-1)
    return np.where((support & (q == 0)).any(-1), np.inf, total)


def entropy_numpy(p: np.ndarray) -> np.ndarray:
    """H(p) = −Σ p log p (0 log 0 = 0)."""
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1)


def js_numpy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """JS by the entropy form JS = H(M) − ½(H(P) + H(Q)) (Lin 1991), not through KL."""
    return entropy_numpy(0.5 * (p + q)) - 0.5 * (entropy_numpy(p) + entropy_numpy(q))


def _rel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a − b| / max(1, |b|) where both are finite, else 0 (the infinities are compared apart)."""
    both = torch.isfinite(a) & torch.isfinite(b)
    return torch.where(both, (a - b).abs() / b.abs().clamp(min=1.0), torch.zeros_like(a))


#: The property checks, in the order of the table: key -> what a violation is.
VIOLATIONS = {
    "pinsker": "KL(p‖q) < ½‖p − q‖₁² (so KL would not be > 0 for p ≠ q)",
    "self": "KL(p‖p) ≠ 0 or JS(p, p) ≠ 0",
    "infinity": "KL(p‖q) = +inf not exactly when p > 0 = q somewhere",
    "js_symmetric": "JS(p, q) ≠ JS(q, p)",
    "js_range": "JS outside [0, log 2] nats or [0, 1] bit, or not finite",
    "js_disjoint": "JS ≠ log 2 on disjoint supports",
    "torch_infinity": "torch's Categorical KL infinite where ours is finite, or the reverse",
    "numpy_infinity": "the numpy KL infinite where ours is finite, or the reverse",
}


def check_pairs(p: torch.Tensor, q: torch.Tensor, disjoint: bool) -> dict[str, float]:
    """Violation counts, deviations and the asymmetry count for one batch of pairs (float64)."""
    n = p.shape[-1]
    tol = rounding(n)
    fwd, rev = kl(p, q), kl(q, p)
    j, j_rev, j_bits = js(p, q), js(q, p), js(p, q, base=2)
    # the magnitude of KL's terms, the scale of its rounding: Σ|p log p| + Σ|p log q|
    scale = torch.xlogy(p, p).abs().sum(-1) + torch.where(p > 0, torch.xlogy(p, q).abs(), 0.0).sum(-1)
    l1 = (p - q).abs().sum(-1)
    # Pinsker: KL(p‖q) ≥ ½‖p − q‖₁²
    pinsker = fwd < 0.5 * l1 ** 2 - tol * torch.maximum(scale, torch.ones_like(scale))
    infinite = ((p > 0) & (q == 0)).any(-1)
    out = {
        "pinsker": float(pinsker.sum()),
        "self": float(((kl(p, p) != 0) | (js(p, p) != 0)).sum()),
        "infinity": float((torch.isinf(fwd) != infinite).sum() + (fwd == -math.inf).sum()),
        "js_symmetric": float((j != j_rev).sum()),
        "js_range": float((~torch.isfinite(j) | (j < -tol) | (j > LOG2 * (1 + tol))
                           | (j_bits < -tol) | (j_bits > 1 + tol)).sum()),
        "js_disjoint": float(((j - LOG2).abs() > tol * LOG2).sum()) if disjoint else 0.0,
    }
    both = torch.isfinite(fwd) & torch.isfinite(rev)
    out["asymmetric"] = float((both & ((fwd - rev).abs() > 1e-6 * torch.maximum(fwd, rev))).sum())
    # torch clamps probabilities to [ε, 1 − ε] before the log: compare the pairs where that changes nothing
    clean = (torch.where(p > 0, p, 1.0).amin(-1) >= EPS) & (torch.where(q > 0, q, 1.0).amin(-1) >= EPS)
    ref = kl_divergence(Categorical(probs=p[clean]), Categorical(probs=q[clean]))
    out["torch_infinity"] = float((torch.isinf(ref) != torch.isinf(fwd[clean])).sum())
    out["dev_torch"] = float(_rel(fwd[clean], ref).max()) if clean.any() else 0.0
    out["compared_torch"] = float(clean.sum())
    pn, qn = p.numpy(), q.numpy()
    ref_np = torch.from_numpy(kl_numpy(pn, qn))
    out["numpy_infinity"] = float((torch.isinf(ref_np) != torch.isinf(fwd)).sum())
    out["dev_numpy"] = max(float(_rel(fwd, ref_np).max()), float(_rel(j, torch.from_numpy(js_numpy(pn, qn))).max()))
    out["min_js_bits"], out["max_js_bits"] = float(j_bits.min()), float(j_bits.max())
    out["pairs"] = float(p.shape[0])
    return out


def gaussian_checks(rng: np.random.Generator, c: Draws) -> tuple[float, float]:
    """The closed form against torch's on random pairs, univariate and diagonal 5-d: the largest
    relative deviation, and that of the notes' VAE form −½Σ(1 + log σ² − μ² − σ²) against N(0, 1)."""
    k = max(1, c.gaussian_pairs)
    mu_p, mu_q = (torch.from_numpy(rng.normal(0.0, 2.0, (k, 5))) for _ in range(2))
    s_p, s_q = (torch.from_numpy(np.exp(rng.uniform(-2.0, 2.0, (k, 5)))) for _ in range(2))
    ours = kl_normal(mu_p, s_p, mu_q, s_q)
    ref = kl_divergence(Normal(mu_p, s_p), Normal(mu_q, s_q))
    diag = kl_normal(mu_p, s_p, mu_q, s_q, sum_last=True)
    ref_diag = kl_divergence(Independent(Normal(mu_p, s_p), 1), Independent(Normal(mu_q, s_q), 1))
    torch_dev = max(float(_rel(ours, ref).max()), float(_rel(diag, ref_diag).max()))
    # VAE regulariser (Kingma & Welling 2014, Appendix B): KL(N(μ,σ²)‖N(0,1)) = −½ Σ (1 + log σ² − μ² − σ²)
    vae = -0.5 * (1 + torch.log(s_p ** 2) - mu_p ** 2 - s_p ** 2).sum(-1)
    vae_dev = float(_rel(kl_normal(mu_p, s_p, torch.zeros_like(mu_p), torch.ones_like(s_p), sum_last=True), vae).max())
    return torch_dev, vae_dev


def monte_carlo(rng: np.random.Generator, samples: int) -> tuple[float, float, float]:
    """E_{x~p}[log p(x) − log q(x)] from ``samples`` draws for :data:`MC_PAIR`: estimate, its standard
    error, and the closed form."""
    mu_p, s_p, mu_q, s_q = MC_PAIR
    x = torch.from_numpy(rng.normal(mu_p, s_p, samples))
    ratio = Normal(mu_p, s_p).log_prob(x) - Normal(mu_q, s_q).log_prob(x)
    exact = float(kl_normal(mu_p, s_p, mu_q, s_q))   # Python numbers: float64
    return float(ratio.mean()), float(ratio.std() / math.sqrt(samples)), exact


KINDS = ("dense", "zeros", "disjoint")
MC_KEY = "kl_normal/monte_carlo_minus_closed_form"


def properties_experiment(ctx: RunContext) -> Outcome:
    c: Draws = ctx.preset.train
    counts = {k: 0.0 for k in [*VIOLATIONS, "asymmetric", "compared_torch", "pairs"]}
    dev_torch = dev_numpy = 0.0
    js_disjoint = [math.inf, -math.inf]
    by_size: dict[int, float] = {}
    scatter: tuple[list[float], list[float]] = ([], [])
    mc = []
    dev_torch_normal = 0.0
    for seed in ctx.seeds:
        rng = np.random.default_rng(seed)
        for n in c.sizes:
            for kind in KINDS:
                if kind == "disjoint" and n < 2:
                    continue
                done = 0
                while done < c.pairs:
                    count = min(c.chunk, c.pairs - done)
                    p, q = (torch.from_numpy(x) for x in draw_pairs(rng, c, n, count, kind))
                    r = check_pairs(p, q, kind == "disjoint")
                    for k in counts:
                        counts[k] += r[k]
                    by_size[n] = by_size.get(n, 0.0) + sum(r[k] for k in VIOLATIONS)
                    dev_torch, dev_numpy = max(dev_torch, r["dev_torch"]), max(dev_numpy, r["dev_numpy"])
                    if kind == "disjoint":
                        js_disjoint = [min(js_disjoint[0], r["min_js_bits"]), max(js_disjoint[1], r["max_js_bits"])]
                    if kind == "dense" and n == 10 and not scatter[0]:
                        scatter = (kl(p, q).tolist(), kl(q, p).tolist())
                    done += count
        torch_normal, vae = gaussian_checks(rng, c)
        dev_torch_normal = max(dev_torch_normal, torch_normal, vae)
        mc.append(monte_carlo(rng, c.mc_samples))
    out = Outcome(data=f"random pairs: Dirichlet({', '.join(f'{a:g}' for a in c.concentrations)}) over "
                       f"{', '.join(map(str, c.sizes))} outcomes, dense / with zeros / disjoint supports")
    for k in VIOLATIONS:
        out.add_exact(f"violations/{k}", counts[k])
    out.add_exact("violations", sum(counts[k] for k in VIOLATIONS))
    out.add_exact("pairs", counts["pairs"])
    out.add_exact("asymmetric_pairs", counts["asymmetric"])
    out.add_exact("max_rel_deviation/torch_categorical", dev_torch)
    out.add_exact("compared/torch_categorical", counts["compared_torch"])
    out.add_exact("max_rel_deviation/numpy", dev_numpy)
    out.add_exact("max_rel_deviation/torch_normal", dev_torch_normal)
    out.add_exact("js_disjoint/min_bits", js_disjoint[0] if math.isfinite(js_disjoint[0]) else math.nan)
    out.add_exact("js_disjoint/max_bits", js_disjoint[1] if math.isfinite(js_disjoint[1]) else math.nan)
    out.add(MC_KEY, [m[0] - m[2] for m in mc])       # noise: the Monte-Carlo standard error
    out.value_se[MC_KEY] = [m[1] for m in mc]
    out.add_exact("kl_normal/closed_form", mc[0][2])
    out.tables.append(_properties_table(out, by_size))
    fwd, rev = scatter
    top = max([*fwd, *rev, 1e-3])
    out.figures.append(lines(ctx.run_dir / "kl_asymmetry.png",
                             {"random pairs, 10 outcomes": (fwd, rev), "KL(p‖q) = KL(q‖p)": ([0.0, top], [0.0, top])},
                             styles={"random pairs, 10 outcomes": ".", "KL(p‖q) = KL(q‖p)": "--"},
                             xlabel="KL(p‖q) (nats)", ylabel="KL(q‖p) (nats)",
                             title="KL is not symmetric (Dirichlet pairs over 10 outcomes)"))
    out.notes += [
        f"{counts['pairs']:,.0f} pairs ({c.pairs:,} per support size and kind, seeds "
        f"{', '.join(map(str, ctx.seeds))}), float64. Concentrations cycle over the pairs; 0.1 gives entries as small "
        "as 1e-300, which float64 still represents.",
        f"torch's Categorical clamps probabilities to [ε, 1 − ε] (ε = {EPS:.2g}) before the log, so it is compared on "
        f"the {counts['compared_torch']:,.0f} pairs whose nonzero entries are all ≥ ε (there the clamp changes "
        "nothing); the numpy reference (KL by log-differences, JS by the entropy form H(M) − ½(H(P) + H(Q))) on all.",
        f"Rounding tolerance of a sum of n terms: 4nε relative to the magnitude of its terms; deviations between two "
        f"implementations must stay below {AGREE:g} (relative, or absolute below 1 nat).",
        f"Monte Carlo: {c.mc_samples:,} samples x ~ N({MC_PAIR[0]:g}, {MC_PAIR[1]:g}²) of log p(x) − log q(x) for "
        f"q = N({MC_PAIR[2]:g}, {MC_PAIR[3]:g}²): closed form {mc[0][2]:.6f} nats, estimate {mc[0][0]:.6f} ± "
        f"{mc[0][1]:.6f} (standard error).",
    ]
    return out


def _properties_table(out: Outcome, by_size: dict[int, float]) -> str:
    rows = ["| check | violations |", "|---|---|"]
    rows += [f"| {words} | {out.values[f'violations/{k}']:.0f} |" for k, words in VIOLATIONS.items()]
    rows += ["", "| support size | violations (all checks) |", "|---|---|"]
    rows += [f"| {n} | {v:.0f} |" for n, v in by_size.items()]
    rows += ["", "| comparison | max relative deviation |", "|---|---|"]
    rows += [f"| {k} | {out.values[f'max_rel_deviation/{k}']:.2e} |"
             for k in ("torch_categorical", "numpy", "torch_normal")]
    return "\n".join(rows)


register_claim(Claim(
    id="divergence.properties",
    paper="divergence",
    title="KL is non-negative and asymmetric; JS is symmetric and bounded by log 2",
    statement=("KL(P‖Q) ≥ 0, with equality only when P = Q, and in general KL(P‖Q) ≠ KL(Q‖P); it is +inf where "
               "P has mass and Q has none. JS(P, Q) = ½KL(P‖M) + ½KL(Q‖M), M = ½(P + Q), is symmetric and finite, "
               "0 ≤ JS ≤ log 2 (1 bit), reaching log 2 on disjoint supports. The Gaussian closed form "
               "KL = log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½ is the expectation of log p/q."),
    source="Notes Section 9 (KL and JS divergence); Kullback & Leibler 1951; Lin 1991 (JS bounded by log 2)",
    presets={
        "quick": PropertiesPreset(description="500 random pairs per support size (2 to 1,000) and kind, 1,000 Gaussian "
                                  "pairs, 200k Monte-Carlo samples; seconds on 2 CPU cores"),
        "cpu": PropertiesPreset(description="5,000 random pairs per support size and kind, 10,000 Gaussian pairs, "
                                "2M Monte-Carlo samples, 2 seeds; under a minute on 2 CPU cores",
                                train=Draws(pairs=5000, gaussian_pairs=10_000, mc_samples=2_000_000), seeds=2),
        "full": PropertiesPreset(description="20,000 random pairs per support size and kind, 100,000 Gaussian pairs, "
                                 "10M Monte-Carlo samples, 3 seeds; minutes on any machine",
                                 train=Draws(pairs=20_000, gaussian_pairs=100_000, mc_samples=10_000_000), seeds=3),
    },
    experiment=properties_experiment,
    verdict=R.all_of(
        R.at_most("violations", 0, words="violations of the properties over all pairs (exact count)"),
        R.at_least("asymmetric_pairs", 1, words="pairs with KL(p‖q) ≠ KL(q‖p) (exact count)"),
        R.at_most("max_rel_deviation/torch_categorical", AGREE,
                  words="largest relative deviation from torch's Categorical KL (exact)"),
        R.at_most("max_rel_deviation/numpy", AGREE,
                  words="largest relative deviation from the numpy KL and JS (exact)"),
        R.at_most("max_rel_deviation/torch_normal", AGREE,
                  words="largest relative deviation of the Gaussian closed form from torch's (exact)"),
        R.within(MC_KEY, 0.0, tolerance=MC_TOLERANCE, words="Monte-Carlo KL of two Gaussians minus the closed form"),
    ),
    targets=(Target("js_disjoint/min_bits", 1.0, "Lin 1991: JS ≤ log 2 = 1 bit, with equality on disjoint supports",
                    tolerance=1e-9, label="JS on disjoint supports, smallest (bits)", unit=""),
             Target("js_disjoint/max_bits", 1.0, "Lin 1991: JS ≤ log 2 = 1 bit", tolerance=1e-9,
                    label="JS on disjoint supports, largest (bits)", unit=""),
             Target("kl_normal/closed_form", math.log(2.0) - 0.25, "log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½ "
                    "for N(0, 1) and N(1, 2²)", tolerance=1e-12, label="KL(N(0,1)‖N(1,2²)) (nats)", unit="")),
    notes=("Exact float64 checks, compared exactly; only the Monte-Carlo estimate has noise (its standard error). "
           "'Equality only when P = Q' is checked through Pinsker's inequality, KL ≥ ½‖P − Q‖₁², which is positive "
           "for every P ≠ Q."),
))


# --- divergence.mode-covering --------------------------------------------------------------------

@dataclass(frozen=True)
class Fit:
    """The mixture p = w·N(a, s²) + (1 − w)·N(b, s²), the grid the divergences are integrated on,
    and the gradient descent on (μ, log σ) of q = N(μ, σ²)."""

    steps: int = 3000               # gradient-descent steps of each fit
    lr: float = 0.1
    peaks: tuple[float, float] = (-3.0, 3.0)
    peak_std: float = 1.0
    weight: float = 0.5             # w, of the first peak
    half_width: float = 15.0        # the grid covers [−half_width, half_width] ...
    grid_points: int = 6001         # ... with this many points (trapezoid rule)
    #: both fits start from the best (μ, σ) of a coarse init_grid × init_grid search (μ over the peaks ± 2 peak
    #: stds, σ log-spaced from 0.2 peak stds to the peaks' distance + 2 peak stds), so each finds its global minimum
    init_grid: int = 41


@dataclass(frozen=True, kw_only=True)
class FitPreset(Preset):
    """The fits' settings (``train``: a :class:`Fit`, not a training recipe)."""

    train: Fit = field(default_factory=Fit)

    SMOKE: ClassVar[dict[str, str]] = {"train.steps": "4", "train.grid_points": "401", "train.init_grid": "5"}


def log_mixture(x: torch.Tensor, c: Fit) -> torch.Tensor:
    """log p(x) for the two-peaked mixture (log-sum-exp: no underflow in the tails)."""
    a, b = c.peaks
    comps = torch.stack([math.log(c.weight) + Normal(a, c.peak_std).log_prob(x),
                         math.log(1 - c.weight) + Normal(b, c.peak_std).log_prob(x)])
    return torch.logsumexp(comps, 0)


def kl_on_grid(log_a: torch.Tensor, log_b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """KL(a‖b) = ∫ a (log a − log b) dx, by the trapezoid rule on the grid ``x``."""
    # KL(A‖B) = ∫ A(x) log(A(x)/B(x)) dx   (the continuous form; notes §9)
    return torch.trapezoid(log_a.exp() * (log_a - log_b), x)


def coarse_start(c: Fit, direction: str, x: torch.Tensor, log_p: torch.Tensor) -> tuple[float, float]:
    """The (μ, σ) of the :attr:`Fit.init_grid` search with the smallest divergence in ``direction``."""
    lo, hi = min(c.peaks) - 2 * c.peak_std, max(c.peaks) + 2 * c.peak_std
    mus = torch.linspace(lo, hi, c.init_grid, dtype=torch.float64)
    sigmas = torch.logspace(math.log10(0.2 * c.peak_std), math.log10(hi - lo - 2 * c.peak_std), c.init_grid,
                            dtype=torch.float64)
    m, s = torch.meshgrid(mus, sigmas, indexing="ij")
    log_q = Normal(m[..., None], s[..., None]).log_prob(x)
    values = kl_on_grid(log_p, log_q, x) if direction == "forward" else kl_on_grid(log_q, log_p, x)
    best = int(torch.nan_to_num(values, nan=math.inf).argmin())
    return float(m.flatten()[best]), float(s.flatten()[best])


def fit_gaussian(c: Fit, direction: str) -> tuple[float, float, float]:
    """Gradient descent on (μ, log σ) minimising KL(p‖q) (``forward``) or KL(q‖p) (``reverse``);
    returns μ, σ and the divergence at the end."""
    x = torch.linspace(-c.half_width, c.half_width, c.grid_points, dtype=torch.float64)
    log_p = log_mixture(x, c)
    mu0, sigma0 = coarse_start(c, direction, x, log_p)
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    log_sigma = torch.tensor(math.log(sigma0), dtype=torch.float64, requires_grad=True)

    def objective() -> torch.Tensor:
        log_q = Normal(mu, log_sigma.exp()).log_prob(x)
        return kl_on_grid(log_p, log_q, x) if direction == "forward" else kl_on_grid(log_q, log_p, x)

    for _ in range(c.steps):
        loss = objective()
        g_mu, g_ls = torch.autograd.grad(loss, (mu, log_sigma))
        with torch.no_grad():
            # θ ← θ − η ∇_θ KL
            mu -= c.lr * g_mu
            log_sigma -= c.lr * g_ls
    with torch.no_grad():
        return float(mu), float(log_sigma.exp()), float(objective())


def mode_experiment(ctx: RunContext) -> Outcome:
    c: Fit = ctx.preset.train
    a, b = c.peaks
    fits = {d: fit_gaussian(c, d) for d in ("forward", "reverse")}
    out = Outcome(data=f"p = {c.weight:g}·N({a:g}, {c.peak_std:g}²) + {1 - c.weight:g}·N({b:g}, {c.peak_std:g}²), "
                       f"{c.grid_points:,} grid points on [−{c.half_width:g}, {c.half_width:g}]")
    for d, (mu, sigma, value) in fits.items():   # deterministic: exact numbers
        out.add_exact(f"{d}/mean", mu)
        out.add_exact(f"{d}/std", sigma)
        out.add_exact(f"{d}/std_ratio", sigma / c.peak_std)
        out.add_exact(f"{d}/kl", value)
        out.add_exact(f"{d}/peak_distance", min(abs(mu - a), abs(mu - b)) / c.peak_std)
    x = torch.linspace(-c.half_width, c.half_width, c.grid_points, dtype=torch.float64)
    log_p = log_mixture(x, c)
    # the other direction at each fit: how badly each fit does by the other criterion
    for d, other in (("forward", "reverse"), ("reverse", "forward")):
        mu, sigma, _ = fits[d]
        log_q = Normal(mu, sigma).log_prob(x)
        value = kl_on_grid(log_q, log_p, x) if other == "reverse" else kl_on_grid(log_p, log_q, x)
        out.add_exact(f"{d}/kl_{other}", float(value))
    out.tables.append(_fit_table(out))
    shown = x[(x >= min(a, b) - 4 * max(c.peak_std, fits["forward"][1])) &
              (x <= max(a, b) + 4 * max(c.peak_std, fits["forward"][1]))]
    curves = {"mixture p": (shown.tolist(), log_mixture(shown, c).exp().tolist())}
    for d, words in (("forward", "argmin KL(p‖q): mass-covering"), ("reverse", "argmin KL(q‖p): mode-seeking")):
        mu, sigma, _ = fits[d]
        curves[words] = (shown.tolist(), Normal(mu, sigma).log_prob(shown).exp().tolist())
    out.figures.append(lines(ctx.run_dir / "mode_covering.png", curves, xlabel="x", ylabel="density",
                             styles={"argmin KL(p‖q): mass-covering": "--", "argmin KL(q‖p): mode-seeking": ":"},
                             title="One Gaussian fitted to two peaks by forward and reverse KL"))
    var = c.peak_std ** 2 + c.weight * (1 - c.weight) * (b - a) ** 2
    out.notes += [
        f"Each fit starts from the best point of a {c.init_grid}×{c.init_grid} grid search over (μ, σ), then takes "
        f"{c.steps:,} steps of plain gradient descent at rate {c.lr:g} on (μ, log σ); gradients by autograd through "
        "the trapezoid rule.",
        f"The forward minimiser matches p's moments: mean {c.weight * a + (1 - c.weight) * b:g}, std √{var:g} = "
        f"{math.sqrt(var):.4f}. The reverse fit on one well-separated peak of weight w has KL(q‖p) ≈ −log w.",
        "KL(q‖p) has a local minimum on each peak (equal here, by symmetry: the grid search picks the first it "
        "meets) and a worse, broad one between them, where gradient descent from the middle can end: hence the grid "
        "start.",
    ]
    return out


def _fit_table(out: Outcome) -> str:
    rows = ["| fit | mean | std | KL(p‖q) | KL(q‖p) |", "|---|---|---|---|---|"]
    for d in ("forward", "reverse"):
        kf = out.values[f"{d}/kl"] if d == "forward" else out.values[f"{d}/kl_forward"]
        kr = out.values[f"{d}/kl"] if d == "reverse" else out.values[f"{d}/kl_reverse"]
        rows.append(f"| argmin KL({'p‖q' if d == 'forward' else 'q‖p'}) | {out.values[f'{d}/mean']:.4f} | "
                    f"{out.values[f'{d}/std']:.4f} | {kf:.4f} | {kr:.4f} |")
    return "\n".join(rows)


def _midpoint(p: FitPreset) -> float:
    return sum(p.train.peaks) / 2


def _half_gap(p: FitPreset) -> float:
    return abs(p.train.peaks[1] - p.train.peaks[0]) / 2


register_claim(Claim(
    id="divergence.mode-covering",
    paper="divergence",
    title="Forward KL covers the mass, reverse KL seeks a mode",
    statement=("Fitting one Gaussian q to a two-peaked p, minimising the forward KL(p‖q) gives a broad q that "
               "covers both peaks (its mean between them, its variance that of p), while minimising the reverse "
               "KL(q‖p) gives a narrow q that sits on one peak."),
    source="Bishop 2006, Section 10.1.2 (Fig. 10.3); Kullback & Leibler 1951",
    presets={
        "quick": FitPreset(description="two fits of 3,000 gradient steps, 6,001-point grid; seconds on 2 CPU cores"),
        "cpu": FitPreset(description="two fits of 10,000 gradient steps, 20,001-point grid; under a minute on 2 CPU "
                         "cores", train=Fit(steps=10_000, grid_points=20_001)),
        "full": FitPreset(description="two fits of 20,000 gradient steps, 100,001-point grid; a minute on any machine",
                          train=Fit(steps=20_000, grid_points=100_001)),
    },
    experiment=mode_experiment,
    verdict=R.all_of(
        R.at_least("forward/std_ratio", 2.0, words="forward fit's std over a peak's (exact)"),
        R.within("forward/mean", R.Of(_midpoint, "the peaks' midpoint"),
                 tolerance=R.Of(_half_gap, "half the distance between the peaks"),
                 words="forward fit's mean (exact)"),
        R.at_most("reverse/peak_distance", 0.25,
                  words="reverse fit's distance to the nearest peak, in peak stds (exact)"),
        R.at_most("reverse/std_ratio", 1.5, words="reverse fit's std over a peak's (exact)"),
    ),
    targets=(Target("forward/std", math.sqrt(10.0), "moment matching: std of 0.5·N(−3,1) + 0.5·N(3,1) = √10",
                    tolerance=0.01, label="forward fit's std", unit=""),
             Target("forward/mean", 0.0, "moment matching: mean of the mixture", tolerance=0.01,
                    label="forward fit's mean", unit=""),
             Target("reverse/kl", math.log(2.0), "one of two separated equal peaks: KL(q‖p) ≈ log 2",
                    tolerance=0.01, label="reverse fit's KL(q‖p) (nats)", unit="")),
    notes=("Deterministic (a grid, no sampling): every quantity is exact and compared with its bound exactly. The "
           "targets are for the default mixture 0.5·N(−3, 1) + 0.5·N(3, 1)."),
))
