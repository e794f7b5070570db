"""Residual networks and their plain counterparts.

He, Zhang, Ren, Sun (2015). *Deep Residual Learning for Image Recognition*. arXiv:1512.03385.

- Section 3.1-3.2: a block computes ``y = F(x, {W_i}) + x`` (Eq. 1), or ``y = F(x) + W_s x`` (Eq. 2)
  when the shortcut must change the shape; the ReLU comes after the addition (Fig. 2).
- Section 3.3: plain networks are the same stacks without shortcuts; shortcut options
  A (zero-padding identity), B (projections where the shape changes) and C (projections
  everywhere) are compared in Table 3.
- Section 3.4: batch normalisation right after each convolution and before the activation;
  weights initialised as in ref. [13] (He et al. 2015, "Delving Deep into Rectifiers").
- Section 4.1, Table 1 and Fig. 5: the ImageNet networks (18/34 layers with basic blocks,
  50/101/152 with bottleneck blocks).
- Section 4.2: the CIFAR-10 networks (6n+2 layers, 16/32/64 filters, option A shortcuts).
- Fig. 7: "layer responses", the outputs of each 3x3 layer after BN and before the ReLU or
  addition; :meth:`ResNet.response_layers` gives the modules producing them.

Module names follow torchvision (``conv1, bn1, layer1..layer4, fc``; blocks ``conv1/bn1/...``
and ``downsample``), so torchvision checkpoints load as they are
(:func:`load_torchvision_state_dict`).

Choices the paper leaves open, and deviations (each also stated where it is made):

- Convolutions have no bias: each is followed by BN, whose shift makes a bias redundant
  (the released Caffe models have none either).
- BN uses PyTorch's defaults (momentum 0.1, eps 1e-5); the paper does not give them.
- The ImageNet 3x3/2 max-pool uses padding 1 (torchvision's convention); the Caffe models use
  padding 0 with ceil rounding. Both give 56x56 maps from 112x112.
- Option A puts half the zero channels before the identity channels and the rest after (the
  paper does not say where; the notes' ``tf.pad(x, [[0,0],[0,0],[0,0],[(out-in)//2, (out-in)//2]])``
  and the widely used public CIFAR ResNets do this, so their checkpoints load). ``"A-append"``
  keeps the identity channels first and appends all zeros after them: the same parameter count
  and FLOPs, but a different network for any trained weights.
- The final FC layer keeps PyTorch's default weight init, uniform(+-1/sqrt(fan_in)), and gets a
  zero bias (as fb.resnet.torch, the Torch re-implementation the authors link); the paper does
  not say how it is initialised.
- ReLUs are not in place, so references kept by forward hooks on the response layers are not
  overwritten by the following ReLU.
- ``stride_in_3x3`` (torchvision's "ResNet v1.5") and ``zero_init_residual`` (Goyal et al. 2017)
  are extensions, off by default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import UserError
from ...nn.init import he_init_
from ...registry import register_model

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "ZeroPadShortcut",
    "load_torchvision_state_dict",
    "make_shortcut",
]

Shortcut = Literal["A", "A-append", "B", "C"]
SHORTCUTS: tuple[str, ...] = ("A", "A-append", "B", "C")
#: Where option A's zero channels go: half before and half after ("A"), or all after ("A-append").
PAD_PLACEMENT = {"A": "symmetric", "A-append": "append"}

#: The stems of Section 4.2 (CIFAR) and Table 1 (ImageNet): default stage widths and shortcut.
STEMS: dict[str, dict] = {
    "cifar": {"widths": (16, 32, 64), "shortcut": "A"},
    "imagenet": {"widths": (64, 128, 256, 512), "shortcut": "B"},
}


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Conv2d:
    """A bias-free convolution with "same" padding (BN follows every convolution, Section 3.4)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=kernel_size // 2, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A (Section 3.3): identity that subsamples with a stride and pads channels with zeros.

    "The shortcut still performs identity mapping, with extra zero entries padded for increasing
    dimensions. This option introduces no extra parameter"; across feature maps of two sizes it
    is "performed with a stride of 2", i.e. it keeps every second row and column.

    The paper does not say where the zero channels go. ``placement="symmetric"`` (the default)
    puts ``(out - in) // 2`` zero channels before the input's and the rest after, as the notes'
    ``tf.pad`` does; ``placement="append"`` puts them all after the input's channels.
    """

    def __init__(self, *, in_channels: int, out_channels: int, stride: int = 2,
                 placement: Literal["symmetric", "append"] = "symmetric"):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"option A cannot reduce channels ({in_channels} -> {out_channels})")
        if placement not in ("symmetric", "append"):
            raise ValueError(f"unknown zero-channel placement {placement!r}; choose symmetric or append")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.placement = placement
        extra = out_channels - in_channels
        self.before = extra // 2 if placement == "symmetric" else 0
        self.after = extra - self.before

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C_in, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, self.before, self.after))  # (B, C_out, H/s, W/s)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}, placement={self.placement}"


def make_shortcut(option: Shortcut, *, in_channels: int, out_channels: int,
                  stride: int) -> nn.Module | None:
    """The shortcut of one residual block under option A, B or C (Section 3.3, Table 3).

    Returns ``None`` for a parameter-free identity (Eq. 1), :class:`ZeroPadShortcut` for option
    A (zeros half before and half after) or "A-append" (zeros after) where the shape changes,
    and a projection ``W_s`` (Eq. 2; a 1x1 convolution with the block's stride followed by BN,
    as the released models do) for option B where the shape changes and for option C everywhere.
    """
    if option not in SHORTCUTS:
        raise UserError(f"unknown shortcut option {option!r}; choose one of {', '.join(SHORTCUTS)}")
    reshapes = stride != 1 or in_channels != out_channels
    if option == "C" or (option == "B" and reshapes):
        return nn.Sequential(_conv(in_channels, out_channels, 1, stride), nn.BatchNorm2d(out_channels))
    if reshapes:
        return ZeroPadShortcut(in_channels=in_channels, out_channels=out_channels, stride=stride,
                               placement=PAD_PLACEMENT[option])
    return None


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (Fig. 5 left), with a shortcut when ``residual`` (Fig. 2).

    ``residual=False`` gives the block of the plain network: the same layers, no shortcut.
    """

    expansion = 1

    def __init__(self, *, in_channels: int, channels: int, stride: int = 1, residual: bool = True,
                 shortcut: Shortcut = "A", stride_in_3x3: bool = False):
        super().__init__()
        del stride_in_3x3  # the only strided convolution of a basic block is a 3x3 one
        self.residual = residual
        self.conv1 = _conv(in_channels, channels, 3, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv(channels, channels, 3)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = (make_shortcut(shortcut, in_channels=in_channels, out_channels=channels,
                                         stride=stride) if residual else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        out = torch.relu(self.bn1(self.conv1(x)))  # (B, C, H/s, W/s)
        out = self.bn2(self.conv2(out))  # F(x): (B, C, H/s, W/s)
        if self.residual:
            # Eq. 1: y = F(x, {W_i}) + x;  Eq. 2: y = F(x, {W_i}) + W_s x
            out = out + (x if self.downsample is None else self.downsample(x))
        return torch.relu(out)  # (B, C, H/s, W/s)

    def response_layers(self) -> list[nn.BatchNorm2d]:
        return [self.bn1, self.bn2]

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2


class Bottleneck(nn.Module):
    """1x1 (reduce), 3x3, 1x1 (restore, 4x ``channels``) convolutions (Fig. 5 right).

    The stride of a downsampling block is in the first 1x1 convolution, as in the paper's
    released Caffe models ("ResNet v1"); ``stride_in_3x3=True`` moves it to the 3x3 convolution
    as torchvision does ("v1.5": about 4.1 instead of 3.8 GFLOPs for ResNet-50, and slightly
    more accurate). ``residual=False`` gives the plain counterpart.
    """

    expansion = 4

    def __init__(self, *, in_channels: int, channels: int, stride: int = 1, residual: bool = True,
                 shortcut: Shortcut = "B", stride_in_3x3: bool = False):
        super().__init__()
        out_channels = channels * self.expansion
        self.residual = residual
        self.conv1 = _conv(in_channels, channels, 1, 1 if stride_in_3x3 else stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv(channels, channels, 3, stride if stride_in_3x3 else 1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = _conv(channels, out_channels, 1)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = (make_shortcut(shortcut, in_channels=in_channels, out_channels=out_channels,
                                         stride=stride) if residual else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        out = torch.relu(self.bn1(self.conv1(x)))  # (B, C, H', W')
        out = torch.relu(self.bn2(self.conv2(out)))  # (B, C, H/s, W/s)
        out = self.bn3(self.conv3(out))  # F(x): (B, 4C, H/s, W/s)
        if self.residual:
            # Eq. 1: y = F(x, {W_i}) + x;  Eq. 2: y = F(x, {W_i}) + W_s x
            out = out + (x if self.downsample is None else self.downsample(x))
        return torch.relu(out)  # (B, 4C, H/s, W/s)

    def response_layers(self) -> list[nn.BatchNorm2d]:
        return [self.bn2]

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3


class ResNet(nn.Module):
    """A residual network (``residual=True``) or its plain counterpart (Sections 3.3, 4.1, 4.2).

    - ``stem="cifar"`` (Section 4.2): 3x3 convolution with ``widths[0]`` (16) filters, then stages
      of blocks at 32, 16, 8 maps with 16/32/64 filters; ``layers=[n, n, n]`` basic blocks give
      6n+2 layers. Default shortcut option A.
    - ``stem="imagenet"`` (Table 1): 7x7/2 convolution with 64 filters, BN, ReLU, 3x3/2 max-pool,
      then stages conv2_x..conv5_x with 64/128/256/512 filters (x4 for bottlenecks) at
      56, 28, 14, 7 maps. Default shortcut option B.

    The first stage keeps the resolution; every later stage starts with a stride-2 block, "the
    subsampling is performed by convolutions with a stride of 2". Global average pooling and a
    ``num_classes``-way fully-connected layer end the network (no softmax: it returns logits).

    ``shortcut`` is "A", "A-append", "B" or "C" (:func:`make_shortcut`); it has no effect when
    ``residual=False``, since plain networks have no shortcuts. ``stride_in_3x3`` applies to
    bottleneck blocks only (:class:`Bottleneck`).

    Initialisation (Section 3.4, ref. [13]): convolution weights ~ N(0, 2/n) with
    n = k^2 c, c the number of *input* channels (fan-in, Eq. 10 of [13]; torchvision uses the
    fan-out variant, Eq. 14 of [13], which [13] shows works as well); BN weight 1, bias 0; FC
    weight PyTorch's default uniform(+-1/sqrt(fan_in)), FC bias 0 (the paper does not say).
    ``zero_init_residual=True`` sets the last BN weight of every residual branch to zero so each
    block starts as an identity (Goyal et al. 2017; not in the paper, residual networks only).
    """

    def __init__(
        self,
        *,
        block: type[BasicBlock] | type[Bottleneck] = BasicBlock,
        layers: Sequence[int] = (3, 3, 3),
        stem: Literal["cifar", "imagenet"] = "cifar",
        widths: Sequence[int] | None = None,
        num_classes: int = 10,
        residual: bool = True,
        shortcut: Shortcut | None = None,
        stride_in_3x3: bool = False,
        zero_init_residual: bool = False,
        in_channels: int = 3,
    ):
        super().__init__()
        if stem not in STEMS:
            raise UserError(f"unknown stem {stem!r}; choose one of {', '.join(STEMS)}")
        widths = tuple(widths or STEMS[stem]["widths"])
        shortcut = shortcut or STEMS[stem]["shortcut"]
        if shortcut not in SHORTCUTS:
            raise UserError(f"unknown shortcut option {shortcut!r}; "
                            f"choose one of {', '.join(SHORTCUTS)}")
        if len(widths) != len(layers):
            raise ValueError(f"{len(layers)} stages but {len(widths)} widths")
        if stride_in_3x3 and block is not Bottleneck:
            raise UserError("stride_in_3x3 applies to bottleneck networks only")
        if zero_init_residual and not residual:
            raise UserError("zero_init_residual would cut every path of a plain network")
        self.stem, self.residual, self.shortcut = stem, residual, shortcut
        self.stride_in_3x3, self.layers = stride_in_3x3, tuple(layers)

        if stem == "cifar":
            self.conv1 = _conv(in_channels, widths[0], 3)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = _conv(in_channels, widths[0], 7, stride=2)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(widths[0])
        channels = widths[0]
        for i, (width, n) in enumerate(zip(widths, layers)):
            blocks = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block(in_channels=channels, channels=width, stride=stride,
                                    residual=residual, shortcut=shortcut, stride_in_3x3=stride_in_3x3))
                channels = width * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(layers)
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        self.reset_parameters(zero_init_residual=zero_init_residual)

    def reset_parameters(self, *, zero_init_residual: bool = False) -> None:
        """The initialisation of Section 3.4 (see the class docstring)."""
        he_init_(self, mode="fan_in")   # std sqrt(2 / n), n = k^2 c
        bound = 1 / math.sqrt(self.fc.in_features)
        nn.init.uniform_(self.fc.weight, -bound, bound)
        nn.init.zeros_(self.fc.bias)
        if zero_init_residual:
            for b in self.blocks():
                nn.init.zeros_(b.last_bn().weight)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_stages)]

    def blocks(self) -> list[BasicBlock | Bottleneck]:
        """All blocks, in depth order."""
        return [b for stage in self.stages() for b in stage]

    def response_layers(self, *, include_stem: bool = False) -> list[nn.BatchNorm2d]:
        """The BN modules right after each 3x3 convolution of the blocks, in depth order.

        Their outputs are the "layer responses" of Fig. 7 ("the outputs of each 3x3 layer, after
        BN and before other nonlinearity (ReLU/addition)"): register forward hooks on them. Two
        per basic block, one per bottleneck block (its 3x3 convolution); the same layers for
        plain and residual networks. ``include_stem=True`` puts the stem's BN first (a 3x3
        convolution on CIFAR, 7x7 on ImageNet). Outputs are not modified in place afterwards,
        so hooks may keep references to them.
        """
        stem = [self.bn1] if include_stem else []
        return stem + [bn for b in self.blocks() for bn in b.response_layers()]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W)
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))  # (B, 16, 32, 32) | (B, 64, 56, 56)
        for stage in self.stages():
            x = stage(x)  # halves H and W from the second stage on
        return x  # (B, 64, 8, 8) | (B, 512 or 2048, 7, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W)
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (B, num_features)
        return self.fc(x)  # (B, num_classes)


def load_torchvision_state_dict(model: ResNet, state_dict: Mapping[str, torch.Tensor], *,
                                strict: bool = True):
    """Load a torchvision ``ResNet`` state dict (e.g. pretrained weights) into ``model``.

    Modules are named as torchvision's, so keys map one to one; a ``module.`` prefix (left by
    ``DataParallel``) is removed. torchvision's ResNet-50/101/152 put the stride in the 3x3
    convolution ("v1.5"): the weights have the same shapes either way, so this refuses a
    bottleneck ``model`` built without ``stride_in_3x3=True``, whose outputs would differ.
    The model must be a residual ImageNet network with option B shortcuts. Returns what
    :meth:`torch.nn.Module.load_state_dict` returns.
    """
    if model.stem != "imagenet" or not model.residual or model.shortcut != "B":
        raise UserError("torchvision's ResNets are residual ImageNet networks with option B "
                        f"shortcuts; got stem={model.stem!r}, residual={model.residual}, "
                        f"shortcut={model.shortcut!r}")
    if isinstance(model.layer1[0], Bottleneck) and not model.stride_in_3x3:
        raise UserError("torchvision's bottleneck ResNets are 'v1.5': build the model with "
                        "stride_in_3x3=True")
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    return model.load_state_dict(state_dict, strict=strict)


# ----------------------------------------------------------------------------------------------
# CIFAR-10 networks (Section 4.2, Table 6): 6n+2 layers, option A shortcuts by default.

_CIFAR = dict(paper="resnet", input_size=(3, 32, 32), num_classes=10)


def _cifar(n: int, *, residual: bool = True, **kwargs) -> ResNet:
    return ResNet(block=BasicBlock, layers=(n, n, n), stem="cifar", residual=residual, **kwargs)


@register_model(**_CIFAR, tiny=True)
def resnet8(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-8 for CIFAR-10 (Section 4.2 with n=1; not in the paper, for tests), 0.08M parameters."""
    return _cifar(1, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet20(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-20 for CIFAR-10 (Section 4.2, n=3), 0.27M parameters."""
    return _cifar(3, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet32(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-32 for CIFAR-10 (Section 4.2, n=5), 0.46M parameters."""
    return _cifar(5, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet44(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-44 for CIFAR-10 (Section 4.2, n=7), 0.66M parameters."""
    return _cifar(7, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet56(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-56 for CIFAR-10 (Section 4.2, n=9), 0.85M parameters."""
    return _cifar(9, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet110(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-110 for CIFAR-10 (Section 4.2, n=18), 1.7M parameters."""
    return _cifar(18, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


@register_model(**_CIFAR)
def resnet1202(
    *, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-1202 for CIFAR-10 (Section 4.2, n=200), 19.4M parameters."""
    return _cifar(200, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                  zero_init_residual=zero_init_residual)


# Plain CIFAR networks (Fig. 6 left). `shortcut` is accepted so that a plain/residual pair can be
# built from the same arguments; it has no effect, plain networks having no shortcuts.

@register_model(**_CIFAR, tiny=True)
def plain8(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-8 for CIFAR-10 (Section 4.2 with n=1, no shortcuts; for tests), 0.08M parameters."""
    return _cifar(1, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


@register_model(**_CIFAR)
def plain20(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-20 for CIFAR-10 (Section 4.2, n=3, no shortcuts), 0.27M parameters."""
    return _cifar(3, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


@register_model(**_CIFAR)
def plain32(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-32 for CIFAR-10 (Section 4.2, n=5, no shortcuts), 0.46M parameters."""
    return _cifar(5, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


@register_model(**_CIFAR)
def plain44(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-44 for CIFAR-10 (Section 4.2, n=7, no shortcuts), 0.66M parameters."""
    return _cifar(7, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


@register_model(**_CIFAR)
def plain56(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-56 for CIFAR-10 (Section 4.2, n=9, no shortcuts), 0.85M parameters."""
    return _cifar(9, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


@register_model(**_CIFAR)
def plain110(*, in_channels: int = 3, num_classes: int = 10, shortcut: Shortcut = "A") -> ResNet:
    """Plain-110 for CIFAR-10 (Section 4.2, n=18, no shortcuts), 1.7M parameters."""
    return _cifar(18, residual=False, in_channels=in_channels, num_classes=num_classes, shortcut=shortcut)


# ----------------------------------------------------------------------------------------------
# ImageNet networks (Table 1), option B shortcuts by default.

_IMAGENET = dict(paper="resnet", input_size=(3, 224, 224), num_classes=1000)


def _imagenet(block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int], *,
              residual: bool = True, **kwargs) -> ResNet:
    return ResNet(block=block, layers=layers, stem="imagenet", residual=residual, **kwargs)


@register_model(**_IMAGENET, tiny=True)
def resnet10(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-10 for ImageNet (Table 1, basic [1, 1, 1, 1]; for tests), 5.4M parameters, 0.9 GFLOPs."""
    return _imagenet(BasicBlock, (1, 1, 1, 1), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     zero_init_residual=zero_init_residual)


@register_model(**_IMAGENET)
def resnet18(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-18 for ImageNet (Table 1, basic [2, 2, 2, 2]), 11.7M parameters, 1.8 GFLOPs."""
    return _imagenet(BasicBlock, (2, 2, 2, 2), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     zero_init_residual=zero_init_residual)


@register_model(**_IMAGENET)
def resnet34(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", zero_init_residual: bool = False
) -> ResNet:
    """ResNet-34 for ImageNet (Table 1, basic [3, 4, 6, 3]), 21.8M parameters, 3.6 GFLOPs."""
    return _imagenet(BasicBlock, (3, 4, 6, 3), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     zero_init_residual=zero_init_residual)


@register_model(**_IMAGENET)
def resnet50(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", stride_in_3x3: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-50 for ImageNet (Table 1, bottleneck [3, 4, 6, 3]), 25.6M parameters, 3.8 GFLOPs."""
    return _imagenet(Bottleneck, (3, 4, 6, 3), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     stride_in_3x3=stride_in_3x3, zero_init_residual=zero_init_residual)


@register_model(**_IMAGENET)
def resnet101(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", stride_in_3x3: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-101 for ImageNet (Table 1, bottleneck [3, 4, 23, 3]), 44.5M parameters, 7.6 GFLOPs."""
    return _imagenet(Bottleneck, (3, 4, 23, 3), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     stride_in_3x3=stride_in_3x3, zero_init_residual=zero_init_residual)


@register_model(**_IMAGENET)
def resnet152(
    *, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B", stride_in_3x3: bool = False,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-152 for ImageNet (Table 1, bottleneck [3, 8, 36, 3]), 60.2M parameters, 11.3 GFLOPs."""
    return _imagenet(Bottleneck, (3, 8, 36, 3), in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     stride_in_3x3=stride_in_3x3, zero_init_residual=zero_init_residual)


# Plain ImageNet networks (Fig. 3 middle, Table 2); `shortcut` has no effect, as for CIFAR.

@register_model(**_IMAGENET)
def plain18(*, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """Plain-18 for ImageNet (Table 1 without shortcuts, Table 2), 11.5M parameters, 1.8 GFLOPs."""
    return _imagenet(BasicBlock, (2, 2, 2, 2), residual=False, in_channels=in_channels, num_classes=num_classes,
                     shortcut=shortcut)


@register_model(**_IMAGENET)
def plain34(*, in_channels: int = 3, num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """Plain-34 for ImageNet (Table 1 without shortcuts, Table 2), 21.6M parameters, 3.6 GFLOPs."""
    return _imagenet(BasicBlock, (3, 4, 6, 3), residual=False, in_channels=in_channels, num_classes=num_classes,
                     shortcut=shortcut)
