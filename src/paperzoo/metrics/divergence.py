"""Kullback–Leibler and Jensen–Shannon divergences of discrete distributions, and KL of Gaussians.

Discrete distributions are probability tensors over the last axis (any leading batch shape,
broadcast against each other); each function returns one divergence per distribution, in nats
by default or in ``base`` units (``base=2``: bits). Zero probabilities are handled exactly:

* a term with p(x) = 0 is 0 (the limit 0·log 0 = 0, and 0·log(0/q) = 0 for any q);
* a term with p(x) > 0 and q(x) = 0 is +inf, so KL(p‖q) = +inf when p is not absolutely
  continuous with respect to q;
* JS never meets q = 0 where p > 0 (its mixture M is positive wherever p or q is), so it is
  always finite, 0 ≤ JS ≤ log 2 (1 bit), with log 2 exactly when the supports are disjoint.

The inputs are used as given (no renormalisation, no clamping), in the dtype of the tensor (or numpy)
arguments, float64 for Python numbers and lists: pass float64 for exact checks.
References: Kullback & Leibler (1951), On Information and Sufficiency; Lin (1991), Divergence
measures based on the Shannon entropy.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _as_tensors(*xs) -> tuple[torch.Tensor, ...]:
    """The inputs as tensors of one floating dtype: that of the tensor and numpy arguments (promoted),
    or float64 when all are Python numbers or lists (which never lower a tensor's precision)."""
    typed = [x if isinstance(x, torch.Tensor) else torch.from_numpy(x) for x in xs
             if isinstance(x, (torch.Tensor, np.ndarray))]
    dtype = torch.float64
    if typed:
        dtype = typed[0].dtype
        for t in typed[1:]:
            dtype = torch.promote_types(dtype, t.dtype)
        if not dtype.is_floating_point:
            dtype = torch.float64
    return tuple(torch.as_tensor(x, dtype=dtype) for x in xs)


def _in_base(nats: torch.Tensor, base: float | None) -> torch.Tensor:
    # log_b(x) = ln(x) / ln(b)
    return nats if base is None else nats / math.log(base)


def kl(p, q, *, base: float | None = None) -> torch.Tensor:
    """D_KL(p‖q) = Σ_x p(x) log(p(x)/q(x)) over the last axis, in nats (``base=2``: bits).

    ``p``, ``q``: probabilities over the last axis (tensors or array-likes, broadcast). Terms with
    p = 0 are 0; a term with p > 0 and q = 0 makes the divergence +inf.
    """
    p, q = _as_tensors(p, q)
    # D_KL(P‖Q) = Σ_x P(x) log P(x) − Σ_x P(x) log Q(x)   (Kullback & Leibler 1951, Section 2; notes §9)
    # xlogy(0, y) = 0 for every y (0·log 0 = 0) and xlogy(p>0, 0) = −inf, so p > 0 = q gives +inf.
    terms = torch.xlogy(p, p) - torch.xlogy(p, q)
    return _in_base(terms.sum(-1), base)


def js(p, q, *, base: float | None = None) -> torch.Tensor:
    """D_JS(p, q) = ½ D_KL(p‖m) + ½ D_KL(q‖m) with m = ½(p + q), over the last axis.

    Symmetric and finite: 0 ≤ JS ≤ log 2 nats (1 bit with ``base=2``), log 2 when the supports
    are disjoint (Lin 1991).
    """
    p, q = _as_tensors(p, q)
    # M = ½(P + Q)   (Lin 1991: the weighted mixture with π₁ = π₂ = ½)
    m = 0.5 * (p + q)
    # D_JS(P‖Q) = ½ D_KL(P‖M) + ½ D_KL(Q‖M)   (notes §9)
    return 0.5 * kl(p, m, base=base) + 0.5 * kl(q, m, base=base)


def kl_normal(mu_p, sigma_p, mu_q, sigma_q, *, sum_last: bool = False, base: float | None = None) -> torch.Tensor:
    """KL(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²)) in closed form, elementwise (broadcast); σ are standard
    deviations (> 0).

    ``sum_last=True`` sums over the last axis: the KL of two diagonal Gaussians, whose
    coordinates are independent, is the sum of the coordinates' KLs.
    """
    mu_p, sigma_p = _as_tensors(mu_p, sigma_p)
    mu_q, sigma_q = _as_tensors(mu_q, sigma_q)
    # KL = log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²) / (2σ_q²) − ½   (e.g. Bishop 2006, Exercise 1.30)
    out = torch.log(sigma_q / sigma_p) + (sigma_p ** 2 + (mu_p - mu_q) ** 2) / (2 * sigma_q ** 2) - 0.5
    out = out.sum(-1) if sum_last else out
    return _in_base(out, base)


__all__ = ["js", "kl", "kl_normal"]
