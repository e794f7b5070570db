"""Initialisations shared by several papers' networks."""

from __future__ import annotations

from typing import Literal

import torch.nn as nn


def he_init_(module: nn.Module, *, mode: Literal["fan_in", "fan_out"] = "fan_in") -> None:
    """He et al. (2015): every convolution's weights ~ N(0, 2 / n), n = k^2 c with c its input
    (``"fan_in"``, ResNet Section 3.4) or output channels (``"fan_out"``, the DenseNet authors' code);
    every batch-norm layer at scale 1 and shift 0. Biases and other layers are left as they are."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")   # std sqrt(2 / n)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
