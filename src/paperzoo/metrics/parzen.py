"""Gaussian Parzen-window log-likelihood (Breuleux et al. 2011; Goodfellow et al. 2014, Table 1).

A generative model that gives samples but no density is scored by fitting an isotropic Gaussian kernel density
estimate (a Parzen window) to N of its samples s_1..s_N and reporting the log-likelihood of held-out test points
under it::

    log p(x) = logsumexp_i( -||x - s_i||^2 / (2 sigma^2) ) - log N - (d/2) log(2 pi sigma^2)      (nats)

with x, s_i in R^d (images flattened). The protocol, as the GAN paper (Goodfellow et al. 2014, "Generative
Adversarial Nets", Section 5 and Table 1) describes it and as its evaluation script ``parzen_ll.py`` in
github.com/goodfeli/adversarial does it (both read for this module, no code taken):

* fit the window to generator samples: ``--num_samples`` defaults to 10,000;
* choose sigma by cross-validation on a validation set: the grid is ``numpy.logspace(-1, 0, 10)``
  (``--sigma_start -1 --sigma_end 0 --cross_val 10``), ten values from 0.1 to 1, and the sigma with the largest
  mean validation log-likelihood wins. For MNIST the validation images are the held-out training images
  50,000..60,000 (pylearn2 ``MNIST('train', start=50000, stop=60000)``, pixels scaled to [0, 1]); note that the
  script then keeps only the first ``--limit_size`` of them, default 1,000, for the sigma search. For TFD it
  is the fold's validation split;
* report the mean log-likelihood of the test set (MNIST: the 10,000 test images) and its standard error
  ``ll.std() / sqrt(M)`` over the M test points (numpy's ``std``, i.e. ddof = 0, which :func:`parzen_evaluate`
  also uses; Table 1's caption calls it the standard error of the mean computed across examples).
  Table 1 gives 225 +- 2 for the adversarial nets on MNIST and 2057 +- 26 on TFD.

Computation. The squared distances come from one matmul per block, ``||x||^2 - 2 x.s + ||s||^2``, over blocks
of ``batch_size`` points by ``sample_batch_size`` samples; the log-sum-exp over samples is accumulated across
sample blocks with ``logaddexp``, so memory is O(batch_size * sample_batch_size) whatever N and M are. The
distances do not depend on sigma, so :func:`select_sigma` computes each block once for the whole grid.
At the protocol's full size (10,000 samples x 10,000 points x 784 dims) it takes seconds on a 2-core CPU:
``python benchmarks/parzen.py`` measures it (committed: ``benchmarks/results/parzen-cpu.json``).

Dtype: float64 by default. Each squared distance is a difference of numbers of size ||x||^2 + ||s||^2 (about
100 to 200 for MNIST-like digits in [0, 1] with 784 pixels), and the kernel divides it by 2 sigma^2 (0.02 at
sigma = 0.1), so float32 rounding (eps 1.2e-7) can leave errors of order 1e-3 nats per point: far below
the standard errors Table 1 reports (+- 2), but float64 costs about the same on a CPU, so it is the default;
pass ``dtype=torch.float32`` on a GPU (tests/test_parzen.py bounds the float32 error). The inputs are first
centred on the samples' mean (distances are translation invariant), which shrinks the norms that cancel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["DEFAULT_SIGMAS", "parzen_evaluate", "parzen_log_likelihood", "select_sigma"]


#: The original sigma grid, ``logspace(-1, 0, 10)``: 0.1 .. 1 (parzen_ll.py's defaults).
DEFAULT_SIGMAS: tuple[float, ...] = tuple(10.0 ** (-1.0 + k / 9.0) for k in range(10))


def _flat(x, name: str, dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.dim() < 1:
        raise ValueError(f"{name} must have a leading batch dimension, got a scalar")
    t = t.reshape(t.shape[0], -1) if t.dim() != 2 else t
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return t.to(dtype)


def _log_likelihoods(samples, points, sigmas: Sequence[float], *, batch_size: int, sample_batch_size: int,
                     dtype: torch.dtype) -> torch.Tensor:
    """Per-point Parzen log-likelihoods for several sigmas at once: a (len(sigmas), M) tensor."""
    s = _flat(samples, "samples", dtype)
    x = _flat(points, "points", dtype).to(s.device)
    if s.shape[1] != x.shape[1]:
        raise ValueError(f"samples have {s.shape[1]} dimensions, points {x.shape[1]}")
    sig = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
    if sig.numel() == 0 or not bool((sig > 0).all()):
        raise ValueError(f"sigma must be positive, got {sig.tolist()}")
    if batch_size < 1 or sample_batch_size < 1:
        raise ValueError("batch sizes must be positive")
    n, d = s.shape
    centre = s.mean(0)
    s = s - centre
    x = x - centre
    s_sq = (s * s).sum(1)
    inv = [1.0 / (2.0 * float(v) ** 2) for v in sig]
    out = torch.empty(len(inv), x.shape[0], dtype=dtype, device=s.device)
    for a in range(0, x.shape[0], batch_size):
        xb = x[a:a + batch_size]
        xb_sq = (xb * xb).sum(1, keepdim=True)
        acc = torch.full((len(inv), xb.shape[0]), -math.inf, dtype=dtype, device=s.device)
        for b in range(0, n, sample_batch_size):
            d2 = torch.addmm(xb_sq + s_sq[b:b + sample_batch_size], xb, s[b:b + sample_batch_size].T, alpha=-2.0)
            d2.clamp_(min=0.0)                                   # rounding can leave tiny negatives
            m = d2.min(1).values                                 # the nearest sample sets the log-sum-exp shift
            d2.sub_(m[:, None])
            for k, c in enumerate(inv):
                lse = torch.exp(d2 * -c).sum(1).log_() - c * m
                acc[k] = torch.logaddexp(acc[k], lse)
        out[:, a:a + xb.shape[0]] = acc
    norm = math.log(n) + 0.5 * d * torch.log(2.0 * math.pi * sig ** 2)
    return out - norm.to(dtype=dtype, device=out.device)[:, None]


def parzen_log_likelihood(samples, points, sigma: float, *, batch_size: int = 1000, sample_batch_size: int = 10000,
                          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Log-likelihood in nats of each of ``points`` under the Gaussian Parzen window on ``samples``::

        log p(x) = logsumexp_i( -||x - s_i||^2 / (2 sigma^2) ) - log N - (d/2) log(2 pi sigma^2)

    ``samples`` is (N, ...) and ``points`` (M, ...); trailing dimensions are flattened to d. Work is done in
    blocks of ``batch_size`` points by ``sample_batch_size`` samples (memory: a few such blocks, 8 bytes
    an entry in float64: about 250 MB at the defaults), in ``dtype`` (float64 by default; see the module
    docstring). Returns an (M,) tensor.
    """
    return _log_likelihoods(samples, points, [float(sigma)], batch_size=batch_size,
                            sample_batch_size=sample_batch_size, dtype=dtype)[0]


def select_sigma(samples, validation_points, sigmas=None, *, batch_size: int = 1000,
                 sample_batch_size: int = 10000, dtype: torch.dtype = torch.float64) -> float:
    """The sigma among ``sigmas`` (default ``logspace(-1, 0, 10)``, 0.1 .. 1) that maximises the mean
    log-likelihood of ``validation_points`` under the Parzen window on ``samples``::

        sigma* = argmax_sigma (1/M) sum_j log p_sigma(x_j)

    The original used held-out training images (MNIST train 50,000..60,000) as validation points. The distance
    blocks are computed once for the whole grid. Ties go to the first (smallest-index) sigma.
    """
    grid = torch.as_tensor(DEFAULT_SIGMAS if sigmas is None else sigmas, dtype=torch.float64).reshape(-1)
    ll = _log_likelihoods(samples, validation_points, grid.tolist(), batch_size=batch_size,
                          sample_batch_size=sample_batch_size, dtype=dtype)
    return float(grid[int(ll.mean(1).argmax())])


def parzen_evaluate(samples, test_points, sigma: float, *, batch_size: int = 1000, sample_batch_size: int = 10000,
                    dtype: torch.dtype = torch.float64) -> tuple[float, float]:
    """Mean test log-likelihood and its standard error, as Table 1 of the GAN paper reports them::

        mean = (1/M) sum_j log p(x_j),      se = std_j(log p(x_j)) / sqrt(M)

    with the population standard deviation (ddof = 0, numpy's default, as ``parzen_ll.py`` computes it).
    Returns ``(mean, se)`` in nats.
    """
    ll = parzen_log_likelihood(samples, test_points, sigma, batch_size=batch_size,
                               sample_batch_size=sample_batch_size, dtype=dtype).to(torch.float64)
    return float(ll.mean()), float(ll.std(correction=0) / math.sqrt(ll.numel()))
