"""Batch normalisation (Ioffe & Szegedy 2015) and layer normalisation (Ba, Kiros & Hinton 2016).

Written out from the papers' equations (not wrapping ``torch.nn``'s layers); the keyword
arguments, parameter and buffer names follow ``torch.nn.BatchNorm1d/2d`` and ``torch.nn.LayerNorm``
so that state dicts load either way and the layers are drop-in replacements.

Batch normalisation, Ioffe & Szegedy (2015), arXiv:1502.03167:

- Algorithm 1 (training): per channel, over the m values of the mini-batch (for convolutional
  inputs, over the batch *and* every position, Section 3.2, so m = B * L or B * H * W),
  mu_B = 1/m sum x_i, sigma_B^2 = 1/m sum (x_i - mu_B)^2 (the biased variance),
  x_hat_i = (x_i - mu_B) / sqrt(sigma_B^2 + eps), y_i = gamma x_hat_i + beta.
- Algorithm 2 (inference): the population statistics E[x] = E_B[mu_B] and
  Var[x] = m / (m - 1) E_B[sigma_B^2] (the *unbiased* variance) replace the batch ones.
  The paper averages over training mini-batches ("moving averages" in Section 3.1); torch, and
  this module, keep an exponential moving average
  ``running = (1 - momentum) * running + momentum * batch_statistic`` with ``momentum`` = 0.1.
  torch's ``momentum`` is the weight of the *new* batch, i.e. 1 - the usual decay of a moving
  average (a decay of 0.9 here). ``momentum=None`` gives the cumulative average
  ``running += (batch_statistic - running) / n`` over the n batches seen, which is
  Algorithm 2's E_B[.] over the batches seen exactly.
- ``track_running_stats=False`` keeps no running statistics and normalises with the batch's in
  evaluation mode too (as torch).

Masked statistics (an extension, not in the paper): ``forward(x, mask=...)`` with a boolean
``mask`` of ``x``'s shape without the channel dimension (``(B, L)`` for ``(B, C, L)``) computes
mu_B and sigma_B^2 over the positions where ``mask`` is True only, so padding of variable-length
sequences does not enter the statistics (m is then the number of real positions). Every position,
padded or not, is normalised with those statistics; padded outputs are meaningless and should be
masked out downstream. The running statistics are updated with the masked batch statistics.

Layer normalisation, Ba, Kiros & Hinton (2016), arXiv:1607.06450, Eq. 3-4: per example, over
the H summed inputs a_i of a layer, mu = 1/H sum a_i, sigma = sqrt(1/H sum (a_i - mu)^2), and
h = g / sigma * (a - mu) + b (before the nonlinearity f). The statistics are the same in training
and evaluation and do not depend on the other examples of the batch. As torch, eps is added to
the variance inside the square root (the paper has no eps), and ``normalized_shape`` may span
several trailing dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "batch_norm", "batch_statistics", "layer_norm"]


def _channels_last_view(x: torch.Tensor) -> torch.Tensor:
    """(B, C, *S) -> (B, *S, C): channels last, so statistics reduce over every other dimension."""
    return x.movedim(1, -1)


def batch_statistics(x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Per-channel mean, biased variance and count m of a (B, C, *S) batch (Algorithm 1).

    With a boolean ``mask`` of shape (B, *S), only positions where it is True count.
    """
    xc = _channels_last_view(x)  # (B, *S, C)
    if mask is None:
        flat = xc.reshape(-1, xc.shape[-1])  # (m, C)
        m = flat.shape[0]
        mean = flat.mean(0)  # mu_B = 1/m sum_i x_i
        var = (flat - mean).pow(2).mean(0)  # sigma_B^2 = 1/m sum_i (x_i - mu_B)^2
        return mean, var, m
    if mask.shape != xc.shape[:-1]:
        raise ValueError(f"mask must have shape {tuple(xc.shape[:-1])} (the input's without channels), "
                         f"got {tuple(mask.shape)}")
    w = mask.to(x.dtype).unsqueeze(-1)  # (B, *S, 1): 1 at real positions, 0 at padding
    m = int(mask.sum())
    dims = tuple(range(xc.dim() - 1))
    mean = (xc * w).sum(dims) / m  # mu_B over the m real positions
    var = ((xc - mean).pow(2) * w).sum(dims) / m  # sigma_B^2 over the m real positions
    return mean, var, m


def batch_norm(x: torch.Tensor, *, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
               weight: torch.Tensor | None, bias: torch.Tensor | None, training: bool,
               momentum: float | None = 0.1, eps: float = 1e-5, num_batches_tracked: torch.Tensor | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """Batch-normalise a (B, C, *S) tensor over every dimension but C (Algorithms 1 and 2).

    Uses the batch statistics when ``training`` or when there are no running statistics, and
    then updates ``running_mean``/``running_var`` in place (if given) with ``momentum`` (``None``:
    cumulative average, counting batches in ``num_batches_tracked``). Otherwise uses the running
    statistics (Algorithm 2).
    """
    use_batch = training or running_mean is None
    if use_batch:
        mean, var, m = batch_statistics(x, mask)
        if m <= 1:
            raise ValueError(f"expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(x.shape)}")
        if training and running_mean is not None:
            _update_running(mean, var, m, running_mean, running_var, momentum, num_batches_tracked)
    else:
        mean, var = running_mean, running_var
    shape = (1, -1) + (1,) * (x.dim() - 2)  # broadcast (C,) over (B, C, *S)
    # x_hat = (x - mu) / sqrt(sigma^2 + eps)
    x_hat = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + eps)
    if weight is not None:
        # y = gamma * x_hat + beta
        x_hat = x_hat * weight.view(shape) + bias.view(shape)
    return x_hat


@torch.no_grad()
def _update_running(mean: torch.Tensor, var: torch.Tensor, m: int, running_mean: torch.Tensor,
                    running_var: torch.Tensor, momentum: float | None,
                    num_batches_tracked: torch.Tensor | None) -> None:
    if num_batches_tracked is not None:
        num_batches_tracked.add_(1)
    factor = 1.0 / float(num_batches_tracked) if momentum is None else momentum
    # E[x] <- (1 - momentum) E[x] + momentum mu_B
    running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
    # Var[x] <- (1 - momentum) Var[x] + momentum * m / (m - 1) * sigma_B^2   (Algorithm 2: unbiased)
    running_var.mul_(1 - factor).add_(var.detach() * (m / (m - 1)), alpha=factor)


class _BatchNorm(nn.Module):
    """What :class:`BatchNorm1d` and :class:`BatchNorm2d` share; they differ in the input check only.

    Parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros) when ``affine``; buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` when
    ``track_running_stats``: the names and initial values of ``torch.nn.BatchNorm*d``.
    """

    #: Input dimensions this layer accepts (with batch and channel dimensions).
    input_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, **factory))  # gamma
            self.bias = nn.Parameter(torch.zeros(num_features, **factory))  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() not in self.input_dims or x.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self.input_dims)
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects {dims} input with "
                             f"{self.num_features} channels in dimension 1, got shape {tuple(x.shape)}")
        return batch_norm(x, running_mean=self.running_mean, running_var=self.running_var,
                          weight=self.weight, bias=self.bias, training=self.training, momentum=self.momentum,
                          eps=self.eps, num_batches_tracked=self.num_batches_tracked, mask=mask)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (B, C) or (B, C, L) inputs (per feature; over B, or B and L).

    ``forward(x, mask)`` takes an optional boolean (B,) or (B, L) mask of the positions that enter
    the statistics (padding excluded; see the module docstring).
    """

    input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (B, C, H, W) inputs, per channel over B, H and W (Section 3.2)."""

    input_dims = (4,)


def layer_norm(x: torch.Tensor, normalized_shape: Sequence[int], *, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of ``x`` (Ba et al. 2016, Eq. 4)."""
    dims = tuple(range(-len(normalized_shape), 0))
    # Eq. 4: mu = 1/H sum_i a_i
    mu = x.mean(dims, keepdim=True)
    # Eq. 4: sigma = sqrt(1/H sum_i (a_i - mu)^2)   (+ eps inside the root, as torch)
    var = (x - mu).pow(2).mean(dims, keepdim=True)
    out = (x - mu) * torch.rsqrt(var + eps)
    if weight is not None:
        out = out * weight  # g / sigma * (a - mu)
    if bias is not None:
        out = out + bias  # ... + b
    return out


class LayerNorm(nn.Module):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions (Ba et al. 2016).

    Mirrors ``torch.nn.LayerNorm``: ``weight`` (the gain g, ones) and ``bias`` (b, zeros) of shape
    ``normalized_shape`` when ``elementwise_affine`` (``bias=False`` drops b only).
    """

    def __init__(self, normalized_shape: int | Sequence[int], *, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(shape, **factory)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(shape, **factory)) if elementwise_affine and bias else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., *normalized_shape)
        if tuple(x.shape[x.dim() - len(self.normalized_shape):]) != self.normalized_shape:
            raise ValueError(f"LayerNorm{self.normalized_shape} expects inputs ending in that shape, "
                             f"got {tuple(x.shape)}")
        return layer_norm(x, self.normalized_shape, weight=self.weight, bias=self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
