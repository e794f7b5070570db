"""A fully connected network with optional normalisation and dropout, for the MLP experiments of
the optimiser and normalisation papers (batch normalisation's MNIST network, Adam's and dropout's
MNIST MLPs, logistic regression with ``hidden=()``).

Each hidden layer is ``Linear -> norm -> activation -> dropout`` (:class:`HiddenLayer`). With
``norm="batch"`` the normalisation sits between the affine map and the nonlinearity, z = g(BN(Wu))
(Ioffe & Szegedy 2015, Section 3.2), and the linear layer has no bias: "the bias b can be ignored
since its effect will be canceled by the subsequent mean subtraction (the role of the bias is
subsumed by beta)". With ``norm="layer"`` it is h = f(LN(Wx + b)) (Ba et al. 2016, Eq. 4; the linear
bias is kept, as LN removes only its mean over the layer). The output layer is a plain linear map.
Image input (B, C, H, W) is flattened to (B, C*H*W).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn

from .dropout import Dropout
from .norm import BatchNorm1d, LayerNorm

__all__ = ["ACTIVATIONS", "HiddenLayer", "MLP", "init_linear"]

Activation = Literal["relu", "sigmoid", "tanh"]
Norm = Literal["batch", "layer"] | None
Init = Literal["torch", "gaussian"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def _make_norm(norm: Norm, features: int) -> nn.Module:
    if norm is None:
        return nn.Identity()  # keeps the slot, so hooks on ``.norm`` see the pre-activation either way
    if norm == "batch":
        return BatchNorm1d(features)
    if norm == "layer":
        return LayerNorm(features)
    raise ValueError(f"unknown norm {norm!r}; choose None, 'batch' or 'layer'")


def init_linear(layer: nn.Linear, init: Init, std: float) -> None:
    """``"torch"``: leave PyTorch's default uniform(+-1/sqrt(fan_in)); ``"gaussian"``: weights
    N(0, std^2), bias zero."""
    if init == "gaussian":
        nn.init.normal_(layer.weight, 0.0, std)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    elif init != "torch":
        raise ValueError(f"unknown init {init!r}; choose 'torch' or 'gaussian'")


class HiddenLayer(nn.Module):
    """``activation(norm(W u [+ b]))`` followed by dropout. ``norm`` is ``nn.Identity`` without
    normalisation, so a forward hook on ``.norm`` records the layer's pre-activation in every case."""

    def __init__(self, *, in_features: int, out_features: int, activation: Activation = "relu",
                 norm: Norm = None, dropout: float = 0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose {', '.join(ACTIVATIONS)}")
        self.linear = nn.Linear(in_features, out_features, bias=norm != "batch")
        self.norm = _make_norm(norm, out_features)
        self.act = ACTIVATIONS[activation]()
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_features)
        return self.dropout(self.act(self.norm(self.linear(x))))  # (B, out_features)


class MLP(nn.Module):
    """``in_features -> hidden[0] -> ... -> hidden[-1] -> out_features``; ``hidden=()`` is a linear
    (logistic-regression) model.

    ``dropout`` applies after every hidden layer, ``input_dropout`` to the (flattened) input.
    ``init="gaussian"`` draws every weight matrix from N(0, ``init_std``^2) with zero biases;
    ``"torch"`` keeps PyTorch's default initialisation.
    """

    def __init__(self, *, in_features: int, hidden: Sequence[int] = (), out_features: int,
                 activation: Activation = "relu", norm: Norm = None, dropout: float = 0.0,
                 input_dropout: float = 0.0, init: Init = "torch", init_std: float = 0.01):
        super().__init__()
        widths = (in_features, *hidden)
        self.input_dropout = Dropout(input_dropout)
        self.hidden = nn.ModuleList(
            HiddenLayer(in_features=a, out_features=b, activation=activation, norm=norm, dropout=dropout)
            for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Linear(widths[-1], out_features)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear(module, init, init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_features) or (B, C, H, W)
        x = self.input_dropout(x.flatten(1))  # (B, in_features)
        for layer in self.hidden:
            x = layer(x)  # (B, hidden[i])
        return self.out(x)  # (B, out_features)
