"""GoogLeNet, the 22-layer Inception network, with its auxiliary classifiers.

Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich (2015). *Going
Deeper with Convolutions*. CVPR 2015. arXiv:1409.4842.

- Section 4, Fig. 2(b): the Inception module: 1x1 convolutions; 1x1 "reduce" then 3x3; 1x1
  reduce then 5x5; 3x3 max-pooling (stride 1) then a 1x1 "pool proj"; the four outputs
  concatenated along channels. Every convolution is followed by a ReLU.
- Section 5, Table 1: the network: 7x7/2 convolution, 3x3/2 max-pool, 1x1 (64) and 3x3 (192)
  convolutions, 3x3/2 max-pool, Inception 3a, 3b, max-pool, 4a-4e, max-pool, 5a, 5b, 7x7 average
  pool, dropout 40%, linear, softmax. Fig. 3 also has local response normalisation after the
  first max-pool and after the 3x3 convolution.
- Section 5: two auxiliary classifiers on 4a and 4d: 5x5/3 average pool (4x4 output), 1x1
  convolution with 128 filters and ReLU, fully-connected 1024 with ReLU, dropout 70%, linear;
  their losses are added with weight 0.3 during training and they are removed at inference.

Table 1's params column (auxiliary classifiers excluded) sums to 6,797.7K
(:data:`TABLE1_PARAMS`). Its "K" is 1024 and it counts weights without biases: this network has
6,990,272 weights (6,826.4K of 1024, 0.4% above the column's sum) and 6,998,552 parameters with
biases (1000 classes; the auxiliary classifiers add 3,188,840 and 3,190,888). Per layer the
column matches the weights to 0.5% for conv2, 3a, 3b, 4b and the classifier and to 2% for 4a,
4d, 4e, 5b; it is 7.4% below for 4c (463K against 497.5K) and 5.0% above for 5a (1072K against
1018K), and its 2.7K for conv1 is far below the 9.2K (9,408) weights of 64 7x7x3 kernels.
``tests/test_googlenet.py`` checks these figures.

Torchvision's ``googlenet`` differs: its "5x5" branches use 3x3 kernels (a known bug, pytorch/vision
issue 906, kept for its pretrained weights), it adds batch normalisation and drops LRN, and has
6,624,904 parameters; here the branches are 5x5, as in the paper.

Choices and deviations (each also stated where it is made):

- LRN parameters are not in the paper; those of the Caffe reference model (bvlc_googlenet):
  size 5, Caffe alpha 1e-4 (the paper-convention alpha 2e-5 of
  :class:`~paperzoo.nn.lrn.LocalResponseNorm`), beta 0.75, k 1.
- Max-pools with stride 2 round up (``ceil_mode``), as Caffe, which gives Table 1's sizes
  (112 -> 56 -> 28 -> 14 -> 7).
- The final 7x7 average pool is a global average pool: the same at 224x224, and it lets the
  net run on smaller images (the test suite uses 64x64). The auxiliary heads keep the paper's
  5x5/3 pool and need 14x14 maps at 4a/4d (224x224 input; 16x16 in the CIFAR stem).
- ``aux_logits`` defaults to False: with it, :meth:`GoogLeNet.forward` returns
  :class:`GoogLeNetOutput` (logits, aux1, aux2) in training mode, which the generic training
  loop (cross-entropy on ``model(x)``) does not take; train with :func:`googlenet_loss`. In eval
  mode the network always returns the main logits only. The parameter counts above follow
  Table 1 (no auxiliary classifiers).
- Initialisation is not given in the paper (it trained with DistBelief); the Caffe reference
  model's fillers are used: Caffe's "xavier", uniform(+-sqrt(3 / fan_in)), for every weight,
  biases 0.2, except 0 for the three classifiers' output layers.
- ``stem="cifar"`` (not in the paper) replaces everything before Inception 3a by one 3x3
  convolution with 192 filters and no pooling, so 32x32 images reach 3a at 32x32, 4a at 16x16
  (where the auxiliary heads' 5x5/3 pool gives 4x4, as in the paper) and 5b at 8x8.
- ``width`` scales every channel count (rounded, at least 1): 1.0 is the paper's net; the
  tiny variant uses 1/8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import UserError
from ...nn.lrn import LocalResponseNorm
from ...registry import register_model

__all__ = ["INCEPTION", "TABLE1_PARAMS", "GoogLeNet", "GoogLeNetOutput", "Inception", "googlenet_loss"]

#: Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj of each Inception module.
INCEPTION: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}

#: Table 1's params column, in thousands (K), for the layers that have parameters.
TABLE1_PARAMS: dict[str, float] = {
    "conv1": 2.7, "conv2": 112, "3a": 159, "3b": 380, "4a": 364, "4b": 437, "4c": 463, "4d": 580, "4e": 840,
    "5a": 1072, "5b": 1388, "fc": 1000,
}

#: Table 1's order of Inception modules and stride-2 max-pools after the stem.
LAYOUT: tuple[str, ...] = ("3a", "3b", "pool", "4a", "4b", "4c", "4d", "4e", "pool", "5a", "5b")
#: The tiny variant's modules (for tests).
TINY_LAYOUT: tuple[str, ...] = ("3a", "pool", "4a", "4d", "pool", "5b")
#: Section 5: the auxiliary classifiers are "put on top of the output of the Inception (4a) and (4d) modules".
AUX_AFTER: tuple[str, str] = ("4a", "4d")

#: Section 5: "the losses of the auxiliary classifiers were weighted by 0.3".
AUX_WEIGHT = 0.3


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """A convolution with "same" padding and its ReLU ("all the convolutions ... use rectified linear activation")."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2),
                         nn.ReLU())


class Inception(nn.Module):
    """Fig. 2(b): four parallel branches concatenated along the channels.

    ``c1`` 1x1 | ``c3r`` 1x1 -> ``c3`` 3x3 | ``c5r`` 1x1 -> ``c5`` 5x5 | 3x3/1 max-pool -> ``pool_proj`` 1x1.
    """

    def __init__(self, *, in_channels: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool_proj: int):
        super().__init__()
        self.branch1 = _conv(in_channels, c1, 1)
        self.branch2 = nn.Sequential(_conv(in_channels, c3r, 1), _conv(c3r, c3, 3))
        self.branch3 = nn.Sequential(_conv(in_channels, c5r, 1), _conv(c5r, c5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(in_channels, pool_proj, 1))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W)
        branches = (self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x))
        return torch.cat(branches, dim=1)  # (B, c1 + c3 + c5 + pool_proj, H, W)


class AuxClassifier(nn.Module):
    """Section 5's auxiliary classifier: 5x5/3 average pool, 1x1 conv (128) + ReLU, FC 1024 + ReLU,
    dropout 0.7, linear. Expects 14x14 maps (4x4 after the pool)."""

    def __init__(self, *, in_channels: int, num_classes: int, channels: int = 128, hidden: int = 1024,
                 dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv = _conv(in_channels, channels, 1)
        self.fc1 = nn.Linear(channels * 4 * 4, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, 14, 14)
        x = self.conv(self.pool(x)).flatten(1)  # (B, 128*4*4)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))  # (B, num_classes)


class GoogLeNetOutput(NamedTuple):
    """What a training-mode GoogLeNet with auxiliary classifiers returns."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


Stem = Literal["imagenet", "cifar"]


class GoogLeNet(nn.Module):
    """Table 1's network (``stem="imagenet"``) or its CIFAR adaptation (``stem="cifar"``).

    With ``aux_logits`` the two auxiliary classifiers are built and, in training mode only,
    ``forward`` returns :class:`GoogLeNetOutput`; combine it with :func:`googlenet_loss`. In eval
    mode, or without ``aux_logits``, it returns the logits (B, num_classes). ``width`` scales the
    channels, ``lrn=False`` drops the two LRN layers (module docstring for the other choices).
    """

    def __init__(self, *, num_classes: int = 1000, in_channels: int = 3, stem: Stem = "imagenet",
                 aux_logits: bool = False, lrn: bool = True, width: float = 1.0, dropout: float = 0.4,
                 aux_dropout: float = 0.7, layout: Sequence[str] = LAYOUT):
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise UserError(f"unknown stem {stem!r}; choose 'imagenet' or 'cifar'")

        def w(c: int) -> int:
            return max(1, round(c * width))

        self.aux_logits = aux_logits
        if stem == "imagenet":
            norm = (lambda: LocalResponseNorm(size=5, alpha=1e-4 / 5, beta=0.75, k=1.0)) if lrn else nn.Identity
            self.stem = nn.Sequential(
                _conv(in_channels, w(64), 7, stride=2),  # conv1: (B, 64, 112, 112)
                nn.MaxPool2d(3, stride=2, ceil_mode=True), norm(),  # (B, 64, 56, 56)
                _conv(w(64), w(64), 1), _conv(w(64), w(192), 3),  # conv2: reduce, 3x3 (B, 192, 56, 56)
                norm(), nn.MaxPool2d(3, stride=2, ceil_mode=True))  # (B, 192, 28, 28)
        else:
            self.stem = _conv(in_channels, w(192), 3)  # (B, 192, 32, 32)
        channels = w(192)
        self.layout = tuple(layout)
        for name in self.layout:
            if name != "pool":
                if name not in INCEPTION:
                    raise UserError(f"unknown Inception module {name!r}; Table 1 has {', '.join(INCEPTION)}")
                c1, c3r, c3, c5r, c5, pp = (w(c) for c in INCEPTION[name])
                module = Inception(in_channels=channels, c1=c1, c3r=c3r, c3=c3, c5r=c5r, c5=c5, pool_proj=pp)
                self.add_module(f"inception{name}", module)
                channels = module.out_channels
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1's 7x7 average pool at 224x224
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        if aux_logits:
            if not set(AUX_AFTER) <= set(self.layout):
                raise UserError(f"the auxiliary classifiers sit on {' and '.join(AUX_AFTER)}, not in {self.layout}")
            aux = dict(num_classes=num_classes, channels=w(128), hidden=w(1024), dropout=aux_dropout)
            self.aux1 = AuxClassifier(in_channels=self.inception4a.out_channels, **aux)
            self.aux2 = AuxClassifier(in_channels=self.inception4d.out_channels, **aux)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Caffe's "xavier" weights, uniform(+-sqrt(3 / fan_in)); biases 0.2, 0 in the output layers."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                bound = math.sqrt(3 / m.weight[0].numel())
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.constant_(m.bias, 0.2)
        for classifier in (self.fc, *(aux.fc2 for aux in self.auxiliaries())):
            nn.init.zeros_(classifier.bias)

    def auxiliaries(self) -> list[AuxClassifier]:
        """The auxiliary classifiers on 4a and 4d (none without ``aux_logits``)."""
        return [self.aux1, self.aux2] if self.aux_logits else []

    def inceptions(self) -> dict[str, Inception]:
        """The Inception modules by Table 1's names, "3a" .. "5b"."""
        return {name: getattr(self, f"inception{name}") for name in self.layout if name != "pool"}

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutput:  # (B, 3, 224, 224)
        x = self.stem(x)  # (B, 192, 28, 28)
        heads = dict(zip(AUX_AFTER, self.auxiliaries())) if self.training else {}
        aux = []
        for name in self.layout:
            x = self.pool(x) if name == "pool" else getattr(self, f"inception{name}")(x)
            if name in heads:
                aux.append(heads[name](x))  # on 4a's (B, 512, 14, 14) and 4d's (B, 528, 14, 14)
        # after 5b: (B, 1024, 7, 7)
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))  # (B, num_classes)
        return GoogLeNetOutput(logits, *aux) if aux else logits


def googlenet_loss(output: torch.Tensor | GoogLeNetOutput, target: torch.Tensor, *,
                   aux_weight: float = AUX_WEIGHT) -> torch.Tensor:
    """Cross-entropy of the main classifier plus ``aux_weight`` (0.3) times each auxiliary one's.

    Section 5: "their loss gets added to the total loss of the network with a discount weight".
    A plain logits tensor (eval mode, or no auxiliary classifiers) gives the main loss only.
    """
    if isinstance(output, torch.Tensor):
        return F.cross_entropy(output, target)
    main = F.cross_entropy(output.logits, target)
    return main + aux_weight * (F.cross_entropy(output.aux1, target) + F.cross_entropy(output.aux2, target))


@register_model(paper="googlenet", input_size=(3, 224, 224), num_classes=1000)
def googlenet(*, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, lrn: bool = True,
              dropout: float = 0.4) -> GoogLeNet:
    """GoogLeNet (Table 1): 22 layers, nine Inception modules, 7.0M parameters (+6.4M auxiliary)."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits, lrn=lrn,
                     dropout=dropout)


@register_model(paper="googlenet", input_size=(3, 32, 32), num_classes=10)
def googlenet_cifar(*, num_classes: int = 10, in_channels: int = 3, aux_logits: bool = False,
                    width: float = 1.0, dropout: float = 0.4) -> GoogLeNet:
    """GoogLeNet for CIFAR-10: Table 1's Inception modules after a 3x3 stem (not in the paper), 5.9M parameters."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, stem="cifar", aux_logits=aux_logits,
                     width=width, dropout=dropout)


@register_model(paper="googlenet", input_size=(3, 32, 32), num_classes=10, tiny=True)
def googlenet_tiny(*, num_classes: int = 10, in_channels: int = 3, aux_logits: bool = False,
                   dropout: float = 0.0) -> GoogLeNet:
    """GoogLeNet's CIFAR variant with 1/8 of the channels and modules 3a, 4a, 4d, 5b only (for tests).

    Four Inception modules instead of nine and no dropout by default, so that the test suite's
    60-step one-batch overfit converges (the full-depth net without normalisation does not).
    4a and 4d keep their auxiliary classifiers.
    """
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, stem="cifar", aux_logits=aux_logits,
                     width=1 / 8, dropout=dropout, layout=TINY_LAYOUT)
