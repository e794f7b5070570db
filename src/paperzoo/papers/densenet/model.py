"""Densely connected convolutional networks (DenseNet and DenseNet-BC).

Huang, Liu, van der Maaten, Weinberger (2017). *Densely Connected Convolutional Networks*.
CVPR 2017. arXiv:1608.06993.

- Section 3, Eq. 2: layer l receives the feature maps of all preceding layers of its block,
  x_l = H_l([x_0, x_1, ..., x_{l-1}]), concatenated along the channels.
- Composite function H_l: BN, ReLU, 3x3 convolution; each produces k (the growth rate) maps.
- Bottleneck layers (DenseNet-B): BN-ReLU-Conv(1x1) to 4k maps, then BN-ReLU-Conv(3x3).
- Transition layers between blocks: BN, 1x1 convolution, 2x2 average pool; compression
  (DenseNet-C) makes a transition after m maps output floor(theta * m), theta = 0.5 for
  DenseNet-BC.
- CIFAR (Section 3, "Implementation details"): three blocks at 32x32, 16x16, 8x8 with equal
  numbers of layers; a first 3x3 convolution with 16 maps (2k for DenseNet-BC); global average
  pooling and a softmax classifier. L = 3n + 4 layers (n per block) without bottlenecks,
  6n + 4 with them.
- ImageNet (Table 1): DenseNet-BC with k = 32: 7x7/2 convolution with 2k maps, 3x3/2 max-pool,
  four blocks of 6/12/24/16 (121), 6/12/32/32 (169), 6/12/48/32 (201) bottleneck layers.
- Dropout 0.2 after every convolution but the first when training without data augmentation.

Parameters: DenseNet-121/169/201 have 7,978,856 / 14,149,480 / 20,013,928 (1000 classes; the
torchvision counts); on CIFAR-10 DenseNet (L=40, k=12) has 1,019,722 with a 16-map first
convolution and DenseNet-BC (L=100, k=12) 769,162, the "1.0M" and "0.8M" of Table 2 (these
two are derived in ``tests/test_densenet.py``).

Memory-efficient implementation (Pleiss et al. 2017, "Memory-Efficient Implementation of
DenseNets"): ``memory_efficient=True`` recomputes the concatenation, first BN, ReLU and
convolution of every layer in the backward pass (``torch.utils.checkpoint``) instead of
storing them, so the stored activations grow linearly, not quadratically, with depth. Outputs
and gradients equal the plain path; as the authors' own Torch code does, the recomputation
leaves the BN running statistics alone (they are updated once per forward, as without it).

Choices and deviations (each also stated where it is made):

- Transition layers are BN-ReLU-Conv(1x1)-AvgPool: the paper's text omits the ReLU, the authors'
  code (and torchvision) has it. The last block is followed by BN and ReLU before the global
  average pooling (the authors' code). The ImageNet stem's max-pool pads by 1 (the code).
- Convolutions have no bias (each is followed by BN in the next layer, and the authors' code
  drops them), so counts match the reference models.
- Initialisation follows the authors' code (fb.resnet.torch's): convolution weights ~
  N(0, 2 / n) with n = k^2 * (output channels), BN weight 1 and bias 0, linear bias 0 and
  linear weight PyTorch's default uniform(+-1/sqrt(fan_in)) (Torch's default is the same rule).
- For L=40 without bottlenecks the paper's 16-map first convolution is used (``stem_channels``);
  the authors' code always uses 2k = 24, which gives 1,059,298 parameters.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from ...errors import UserError
from ...nn.init import he_init_
from ...registry import register_model

__all__ = ["DenseBlock", "DenseLayer", "DenseNet", "Transition"]


@contextlib.contextmanager
def _frozen_running_stats(bn: nn.BatchNorm2d) -> Iterator[None]:
    """Run ``bn`` without touching its running statistics (the checkpoint's recomputation)."""
    momentum, tracked = bn.momentum, bn.num_batches_tracked.clone()
    bn.momentum = 0.0  # running = (1 - 0) * running + 0 * batch
    try:
        yield
    finally:
        bn.momentum = momentum
        bn.num_batches_tracked.copy_(tracked)


class DenseLayer(nn.Module):
    """H_l of Eq. 2: BN-ReLU-Conv(3x3, k), or with ``bottleneck`` BN-ReLU-Conv(1x1, 4k)-BN-ReLU-Conv(3x3, k).

    ``forward`` takes the list of the block's feature maps so far and returns the k new maps.
    """

    def __init__(self, *, in_channels: int, growth_rate: int, bottleneck: bool, bottleneck_width: int = 4,
                 drop_rate: float = 0.0, memory_efficient: bool = False):
        super().__init__()
        inner = bottleneck_width * growth_rate if bottleneck else growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, inner, 1 if bottleneck else 3, padding=0 if bottleneck else 1, bias=False)
        if bottleneck:
            self.norm2 = nn.BatchNorm2d(inner)
            self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)
        self.bottleneck, self.drop_rate, self.memory_efficient = bottleneck, drop_rate, memory_efficient

    def _first(self, *features: torch.Tensor) -> torch.Tensor:
        x = torch.cat(features, dim=1)  # [x_0, x_1, ..., x_{l-1}]: (B, C_0 + (l-1) k, H, W)
        return self.conv1(torch.relu(self.norm1(x)))  # (B, 4k or k, H, W)

    def _contexts(self) -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
        """The checkpoint's forward and recomputation contexts: the recomputation leaves BN's statistics alone."""
        return contextlib.nullcontext(), _frozen_running_stats(self.norm1)

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.drop_rate, self.training) if self.drop_rate > 0 else x

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.memory_efficient and torch.is_grad_enabled() and any(f.requires_grad for f in features):
            out = cp.checkpoint(self._first, *features, use_reentrant=False, context_fn=self._contexts)
        else:
            out = self._first(*features)
        out = self._dropout(out)
        if self.bottleneck:
            out = self._dropout(self.conv2(torch.relu(self.norm2(out))))  # (B, k, H, W)
        return out


class DenseBlock(nn.Module):
    """``layers`` dense layers; returns the input concatenated with every layer's k maps."""

    def __init__(self, *, layers: int, in_channels: int, growth_rate: int, **layer_kwargs):
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(in_channels=in_channels + i * growth_rate, growth_rate=growth_rate, **layer_kwargs)
            for i in range(layers))
        self.out_channels = in_channels + layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_0, H, W)
        features = [x]
        for layer in self.layers:
            # Eq. 2: x_l = H_l([x_0, x_1, ..., x_{l-1}])
            features.append(layer(features))
        return torch.cat(features, dim=1)  # (B, C_0 + L k, H, W)


class Transition(nn.Sequential):
    """BN, ReLU, 1x1 convolution to ``out_channels`` (floor(theta m)), [dropout], 2x2 average pool."""

    def __init__(self, *, in_channels: int, out_channels: int, drop_rate: float = 0.0):
        super().__init__(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 1, bias=False),
                         *([nn.Dropout(drop_rate)] if drop_rate > 0 else []), nn.AvgPool2d(2, stride=2))


Stem = Literal["cifar", "imagenet"]


class DenseNet(nn.Module):
    """A DenseNet: a stem, dense blocks of ``blocks`` layers with transitions between them,
    BN-ReLU, global average pooling and a linear classifier.

    ``bottleneck`` and ``compression`` (theta; 1 for none) select DenseNet, -B, -C or -BC;
    ``stem="cifar"`` is a 3x3 convolution, ``"imagenet"`` a 7x7/2 convolution with BN, ReLU and
    a 3x3/2 max-pool. ``stem_channels`` defaults to 2k (16 is the paper's choice for CIFAR
    DenseNets without bottlenecks). ``memory_efficient`` checkpoints each layer's concatenation
    (module docstring).
    """

    def __init__(self, *, blocks: Sequence[int], growth_rate: int, bottleneck: bool = True,
                 compression: float = 0.5, stem: Stem = "cifar", stem_channels: int | None = None,
                 num_classes: int = 10, in_channels: int = 3, drop_rate: float = 0.0, memory_efficient: bool = False):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise UserError(f"unknown stem {stem!r}; choose 'cifar' or 'imagenet'")
        if not 0 < compression <= 1:
            raise UserError(f"compression must be in (0, 1], got {compression}")
        channels = stem_channels or 2 * growth_rate
        if stem == "cifar":
            self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 7, stride=2, padding=3, bias=False),
                                      nn.BatchNorm2d(channels), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
        stages: list[nn.Module] = []
        for i, layers in enumerate(blocks):
            block = DenseBlock(layers=layers, in_channels=channels, growth_rate=growth_rate, bottleneck=bottleneck,
                               drop_rate=drop_rate, memory_efficient=memory_efficient)
            stages.append(block)
            channels = block.out_channels
            if i < len(blocks) - 1:
                out = math.floor(compression * channels)
                stages.append(Transition(in_channels=channels, out_channels=out, drop_rate=drop_rate))
                channels = out
        self.features = nn.Sequential(*stages)
        self.norm = nn.BatchNorm2d(channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        self.num_features = channels
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The authors' initialisation (module docstring): conv ~ N(0, 2 / (k^2 c_out)), BN 1/0, FC bias 0."""
        he_init_(self, mode="fan_out")
        self.fc.reset_parameters()
        nn.init.zeros_(self.fc.bias)

    def set_memory_efficient(self, enabled: bool = True) -> None:
        """Switch every layer between the checkpointed and the plain concatenation."""
        for m in self.modules():
            if isinstance(m, DenseLayer):
                m.memory_efficient = enabled

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W)
        x = self.features(self.stem(x))  # (B, C, 8, 8) on CIFAR, (B, C, 7, 7) on ImageNet
        x = self.avgpool(torch.relu(self.norm(x))).flatten(1)  # (B, C)
        return self.fc(x)  # (B, num_classes)


def _cifar_blocks(depth: int, bottleneck: bool) -> tuple[int, int, int]:
    """Layers per block for depth L: (L - 4) / 3, halved with bottlenecks (two convolutions each)."""
    per_block, rest = divmod(depth - 4, 6 if bottleneck else 3)
    if rest or per_block < 1:
        raise UserError(f"a CIFAR DenseNet{'-BC' if bottleneck else ''} has depth "
                        f"{'6n + 4' if bottleneck else '3n + 4'}; got {depth}")
    return (per_block,) * 3


# ----------------------------------------------------------------------------------------------
# CIFAR networks (Table 2).

_CIFAR = dict(paper="densenet", input_size=(3, 32, 32), num_classes=10)


@register_model(**_CIFAR, tiny=True)
def densenet_tiny(*, num_classes: int = 10, in_channels: int = 3, drop_rate: float = 0.0,
                  memory_efficient: bool = False) -> DenseNet:
    """DenseNet-BC with L=10, k=12 for CIFAR (one bottleneck layer per block; for tests)."""
    return DenseNet(blocks=_cifar_blocks(10, True), growth_rate=12, num_classes=num_classes, in_channels=in_channels,
                    drop_rate=drop_rate, memory_efficient=memory_efficient)


@register_model(**_CIFAR)
def densenet40(*, num_classes: int = 10, in_channels: int = 3, growth_rate: int = 12, drop_rate: float = 0.0,
               memory_efficient: bool = False) -> DenseNet:
    """DenseNet (L=40, k=12) for CIFAR (Table 2): no bottleneck or compression, 1,019,722 parameters."""
    return DenseNet(blocks=_cifar_blocks(40, False), growth_rate=growth_rate, bottleneck=False, compression=1.0,
                    stem_channels=16, num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
                    memory_efficient=memory_efficient)


@register_model(**_CIFAR)
def densenet100(*, num_classes: int = 10, in_channels: int = 3, growth_rate: int = 12, drop_rate: float = 0.0,
                memory_efficient: bool = False) -> DenseNet:
    """DenseNet (L=100, k=12) for CIFAR (Table 2): no bottleneck or compression, 7.0M parameters."""
    return DenseNet(blocks=_cifar_blocks(100, False), growth_rate=growth_rate, bottleneck=False, compression=1.0,
                    stem_channels=16, num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
                    memory_efficient=memory_efficient)


@register_model(**_CIFAR)
def densenet_bc100(*, num_classes: int = 10, in_channels: int = 3, growth_rate: int = 12, drop_rate: float = 0.0,
                   memory_efficient: bool = False) -> DenseNet:
    """DenseNet-BC (L=100, k=12) for CIFAR (Table 2): bottlenecks, theta=0.5, 769,162 parameters."""
    return DenseNet(blocks=_cifar_blocks(100, True), growth_rate=growth_rate, num_classes=num_classes,
                    in_channels=in_channels, drop_rate=drop_rate, memory_efficient=memory_efficient)


@register_model(**_CIFAR)
def densenet_bc250(*, num_classes: int = 10, in_channels: int = 3, growth_rate: int = 24, drop_rate: float = 0.0,
                   memory_efficient: bool = False) -> DenseNet:
    """DenseNet-BC (L=250, k=24) for CIFAR (Table 2): 15.3M parameters."""
    return DenseNet(blocks=_cifar_blocks(250, True), growth_rate=growth_rate, num_classes=num_classes,
                    in_channels=in_channels, drop_rate=drop_rate, memory_efficient=memory_efficient)


# ----------------------------------------------------------------------------------------------
# ImageNet networks (Table 1): DenseNet-BC, k=32.

_IMAGENET = dict(paper="densenet", input_size=(3, 224, 224), num_classes=1000)


def _imagenet(blocks: tuple[int, ...], **kwargs) -> DenseNet:
    return DenseNet(blocks=blocks, growth_rate=32, stem="imagenet", **kwargs)


@register_model(**_IMAGENET)
def densenet121(*, num_classes: int = 1000, in_channels: int = 3, drop_rate: float = 0.0,
                memory_efficient: bool = False) -> DenseNet:
    """DenseNet-121 for ImageNet (Table 1, blocks 6/12/24/16, k=32), 7,978,856 parameters."""
    return _imagenet((6, 12, 24, 16), num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
                     memory_efficient=memory_efficient)


@register_model(**_IMAGENET)
def densenet169(*, num_classes: int = 1000, in_channels: int = 3, drop_rate: float = 0.0,
                memory_efficient: bool = False) -> DenseNet:
    """DenseNet-169 for ImageNet (Table 1, blocks 6/12/32/32, k=32), 14,149,480 parameters."""
    return _imagenet((6, 12, 32, 32), num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
                     memory_efficient=memory_efficient)


@register_model(**_IMAGENET)
def densenet201(*, num_classes: int = 1000, in_channels: int = 3, drop_rate: float = 0.0,
                memory_efficient: bool = False) -> DenseNet:
    """DenseNet-201 for ImageNet (Table 1, blocks 6/12/48/32, k=32), 20,013,928 parameters."""
    return _imagenet((6, 12, 48, 32), num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
                     memory_efficient=memory_efficient)
