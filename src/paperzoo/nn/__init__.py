"""Layers written out from the papers' equations: batch and layer normalisation, inverted
dropout, local response normalisation, and a configurable MLP built from them."""

from .dropout import Dropout, dropout
from .init import he_init_
from .lrn import LocalResponseNorm
from .mlp import ACTIVATIONS, MLP, HiddenLayer, init_linear
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, batch_norm, batch_statistics, layer_norm

__all__ = [
    "ACTIVATIONS",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "HiddenLayer",
    "LayerNorm",
    "LocalResponseNorm",
    "MLP",
    "batch_norm",
    "batch_statistics",
    "dropout",
    "he_init_",
    "init_linear",
    "layer_norm",
]
