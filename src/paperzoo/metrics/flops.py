"""Multiply-accumulates and parameter counts.

Papers of the ResNet era quote "FLOPs" that are multiply-adds (He et al. 2015, Table 1:
"3.6 billion FLOPs (multiply-adds)" for ResNet-34), so :func:`count_macs` counts one per
multiply-accumulate of the convolutional and fully-connected layers, the layers those figures
count. Biases, normalisation, activations, pooling and additions are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn

__all__ = ["count_macs", "count_params"]


def _conv_macs(m: nn.modules.conv._ConvNd, inputs: tuple, output: torch.Tensor) -> int:
    # Each output element of a convolution sums (C_in / groups) * prod(kernel) products; a
    # transposed convolution spreads each *input* element over (C_out / groups) * prod(kernel).
    per_element = math.prod(m.kernel_size)
    if m.transposed:
        return inputs[0].numel() * (m.out_channels // m.groups) * per_element
    return output.numel() * (m.in_channels // m.groups) * per_element


def _linear_macs(m: nn.Linear, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * m.in_features


def count_macs(model: nn.Module,
               input_size: Sequence[int] | torch.Tensor | tuple[torch.Tensor, ...] = (3, 224, 224)) -> int:
    """Multiply-accumulates of one forward pass for ONE example.

    ``input_size`` is the shape of one example, ``(C, H, W)``, or an example batch: a tensor,
    or a tuple of tensors passed as ``model(*batch)`` (token ids, ...); the count is then divided
    by its batch size. Counts ``nn.Conv1d/2d/3d`` (and transposed
    convolutions; groups taken into account, bias ignored) and ``nn.Linear`` modules called
    during the forward pass, with forward hooks, in eval mode and under ``torch.no_grad()``;
    functional calls (``F.conv2d``, attention matmuls) are not seen. The model's training flags
    are restored and the hooks removed afterwards, also on error. Works on the ``meta`` device,
    where it costs no arithmetic.
    """
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    if isinstance(input_size, torch.Tensor):
        inputs: tuple[torch.Tensor, ...] = (input_size.to(device),)
    elif input_size and isinstance(input_size[0], torch.Tensor):
        inputs = tuple(t.to(device) for t in input_size)
    else:
        inputs = (torch.zeros(1, *input_size, device=device, dtype=dtype),)
    batch = inputs[0].shape[0]

    total = 0

    def hook(counter):
        def fn(m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            nonlocal total
            total += counter(m, inputs, output)
        return fn

    modes = {m: m.training for m in model.modules()}
    handles = []
    try:
        for m in model.modules():
            if isinstance(m, nn.modules.conv._ConvNd):
                handles.append(m.register_forward_hook(hook(_conv_macs)))
            elif isinstance(m, nn.Linear):
                handles.append(m.register_forward_hook(hook(_linear_macs)))
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, training in modes.items():
            m.training = training
    return total // batch


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (each shared tensor counted once); only trainable ones by default."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
