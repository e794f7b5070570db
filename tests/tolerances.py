"""Tolerances for comparing floating-point results computed along two different paths.

Two computations of the same quantity in floating point (ours against a PyTorch built-in, fused against
unfused attention, batched against one at a time, a conv against the equivalent linear layer) agree only to
rounding, and how closely depends on the machine: the SIMD width (AVX2 against AVX-512) changes the order of
the vectorised reductions, oneDNN/MKL pick different kernels and blockings per ISA (AVX2, AVX-512, AMX), and the
thread count changes how a reduction is split. A tolerance must therefore follow from the dtype and the size of
the computation, never from what one machine happened to produce.

The rule (``tol``)::

    atol = c * eps(dtype) * sqrt(n) * scale          c = 4 by default

* ``eps`` is the machine epsilon of the dtype (float32: 2**-23 ≈ 1.19e-7, float64: 2**-52 ≈ 2.2e-16).
* ``n`` is the length of the reduction that produced the value (the dot-product length of a matmul or conv,
  C_in·k·k; the number of summed terms). For a chain of layers it is the sum of their reduction lengths: the
  layers' independent rounding errors add in quadrature, and residual connections and normalisation keep the
  gain of the later layers about one.
* ``scale`` is the magnitude of the partial sums in that reduction — the size of the numbers that get rounded,
  not of the result: for same-sign terms it is about Σ|x_i| (≈ the result); for random-sign terms
  (matmuls, convs) about the typical output magnitude; where the result comes from cancellation (a difference
  of O(1) numbers that is near zero) it is the size of the cancelling terms, O(1), not the tiny result. This
  is why the tolerance is absolute: a relative tolerance on a value near zero is not a property of the code.

Why sqrt(n): recursive summation's worst case is n·eps·Σ|x_i|, but that needs every rounding to go the same
way; rounding errors behave like independent ±eps/2 terms, whose sum has standard deviation about
eps/6·sqrt(n)·scale for same-sign terms and eps/5·sqrt(n)·scale for random signs. The kernels actually used
are blocked or pairwise (vector lanes plus a tree, torch's cascade sum, MKL's and oneDNN's blocked GEMMs), which
shortens the sequential chains and makes the error smaller still. Two paths each carry such an error, so
``c = 4`` sits more than ten standard deviations out: it does not fail by noise on any x86-64 CPU, and it is
still far below what a real bug gives (a wrong formula, a missing scale, a dropped term or a transposed weight
give O(1) relative errors; even a 1e-3 relative error is caught wherever c·eps·sqrt(n) < 1e-3, i.e. for
reductions up to n ≈ 4e6 in float32, as long as ``scale`` is about the size of the compared values).

Transcendental functions (exp, log, tanh, softmax) add a few ulp each and count as a few terms of n. A
normalisation that divides by a small standard deviation amplifies the error by 1/std: pass that in ``scale``.
"""

from __future__ import annotations

import math

import torch

C = 4.0  # safety factor: > 10 standard deviations of rounding noise, far below a bug's O(1) error


def eps(dtype: torch.dtype = torch.float32) -> float:
    """Machine epsilon of a floating dtype (float32 ≈ 1.19e-7, float64 ≈ 2.2e-16)."""
    return torch.finfo(dtype).eps


def tol(dtype: torch.dtype = torch.float32, n: int = 1, scale: float = 1.0, c: float = C) -> float:
    """Absolute tolerance ``c * eps(dtype) * sqrt(n) * scale`` for a value from a reduction of length ``n``
    whose partial sums have magnitude ``scale`` (see the module docstring)."""
    return c * eps(dtype) * math.sqrt(max(n, 1)) * float(scale)


def _float64(x) -> torch.Tensor:
    """``x`` in float64; numbers and lists are read as float64 (``torch.as_tensor`` alone would round them to
    the default float32 before the comparison)."""
    return x.detach().to(torch.float64) if torch.is_tensor(x) else torch.as_tensor(x, dtype=torch.float64)


def assert_close(actual, expected, *, dtype: torch.dtype = torch.float32, n: int = 1,
                 scale: float | None = None, c: float = C, msg: str | None = None) -> None:
    """Assert |actual - expected| <= tol(dtype, n, scale) elementwise (absolute, no relative part).

    ``actual``/``expected`` may be tensors, numbers or sequences of numbers. ``scale`` defaults to the largest
    |expected| (at least 1e-30), which suits outputs of a well-scaled network; pass it explicitly where the
    values come from cancellation, so are much smaller than the numbers that were rounded."""
    a, e = _float64(actual), _float64(expected)
    if scale is None:
        scale = max(e.abs().max().item() if e.numel() else 0.0, 1e-30)
    atol = tol(dtype, n, scale, c)
    why = f"tolerance {atol:.3g} = {c}·eps({dtype})·sqrt({n})·{scale:.3g}"
    torch.testing.assert_close(a, e, rtol=0.0, atol=atol, check_dtype=False,
                               msg=lambda m: f"{msg + ': ' if msg else ''}{m}\n({why})")
