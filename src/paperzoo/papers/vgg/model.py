"""VGG networks: configurations A-E of Table 1, their CIFAR-10 adaptations and dense evaluation.

Simonyan, Zisserman (2015). *Very Deep Convolutional Networks for Large-Scale Image
Recognition*. ICLR 2015. arXiv:1409.1556.

- Section 2.1: 224x224 RGB input, mean RGB subtracted; stacks of 3x3 convolutions with stride 1
  and 1-pixel padding (1x1 convolutions in C); five 2x2 max-pools with stride 2; three
  fully-connected layers of 4096, 4096 and 1000 channels; ReLU after every hidden layer; LRN
  only in A-LRN (after the first layer; "parameters of the LRN layer are those of" Krizhevsky
  et al. 2012).
- Section 2.2, Table 1: configurations A (11 weight layers), A-LRN, B (13), C (16, with three
  1x1 convolutions), D (16), E (19); widths 64, 128, 256, 512, 512 per stage.
- Table 2: 133, 133, 134, 138, 144 million parameters for A/A-LRN, B, C, D, E.
- Section 3.1: dropout 0.5 after the first two fully-connected layers; deeper nets start from a
  trained A: "the first four convolutional layers and the last three fully-connected layers"
  (:func:`init_from`); random weights ~ N(0, 10^-2 variance), biases 0.
- Section 3.2: dense evaluation: the fully-connected layers become convolutions (fc6 7x7, fc7 and
  fc8 1x1), the net runs on the whole rescaled image, the class score map is spatially
  averaged, and the softmax posteriors of the image and its mirror are averaged
  (:meth:`VGG.score_map`, :func:`dense_evaluate`).

Parameters with 1000 classes (weights + biases):

    A, A-LRN  132,863,336      B  133,047,848      C  133,638,952
    D         138,357,544      E  143,667,240
    (of which the fully-connected layers are 123,642,856: fc6 alone is 7*7*512*4096 + 4096)

Module names follow torchvision (``features``, ``avgpool``, ``classifier``), so torchvision's
VGG-11/13/16/19 checkpoints load as they are (its A-LRN and C have no counterpart).

Choices and deviations (each also stated where it is made):

- Initialisation: the paper says "a normal distribution with the zero mean and 10^-2 variance",
  a standard deviation of 0.1. With zero biases the network is homogeneous in its weights, so its
  outputs scale as std^11 for configuration A: on a unit-variance 224x224 input its logits have
  a standard deviation of about 2e6 with std 0.1 and 2e-5 with std 0.01 (measured; CIFAR
  variant: 2e4 and 2e-7, ``tests/test_vgg.py``), so the literal reading starts with a
  cross-entropy of the order of 10^6. We read it as the standard deviation 0.01 of Krizhevsky et
  al. (2012), whose recipe VGG otherwise follows (the default ``init_std``); ``init_std=0.1`` gives the
  literal reading and ``init="glorot"`` the Glorot & Bengio (2010) initialisation the paper's
  footnote says works without pre-training (uniform, +-sqrt(6 / (fan_in + fan_out)); biases 0).
- An adaptive average pooling to 7x7 sits before fc6 (as torchvision); at 224x224 the features
  are already 7x7 and it is the identity. It lets the fixed-size model run on smaller images
  (the test suite uses 64x64). :meth:`VGG.score_map` does not use it.
- CIFAR-10 variants (``*_cifar``): the same convolutional stacks on 32x32 images (five pools
  leave 1x1x512) and a smaller classifier, fc6/fc7 of 512 units instead of 4096 on a 1x1 window;
  dropout as the paper. Not in the paper. ``widths`` and ``hidden`` narrow them for CPU runs
  (the claims' quick presets); on larger images the adaptive pooling averages the final map, the
  spatial average of Section 3.2's dense evaluation.
- ``vgg_shallow5x5_cifar``: Section 4.1's shallow net, B with each pair of 3x3 layers replaced
  by one 5x5 layer (configuration ``"B-5x5"``: five convolutions, eight weight layers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...data.imagenet import hflip, resize_shorter
from ...errors import UserError
from ...nn.lrn import LocalResponseNorm
from ...registry import register_model

__all__ = ["CONFIGS", "VGG", "dense_evaluate", "init_from"]

#: Table 1: the kernel size of every convolution, stage by stage (widths 64, 128, 256, 512, 512).
CONFIGS: dict[str, tuple[tuple[int, ...], ...]] = {
    "A": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "B": ((3, 3), (3, 3), (3, 3), (3, 3), (3, 3)),
    "C": ((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)),
    "D": ((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)),
    "E": ((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3)),
    # Section 4.1 (not in Table 1): "a shallow net with five 5x5 conv. layers, which was derived from B
    # by replacing each pair of 3x3 conv. layers with a single 5x5 conv. layer".
    "B-5x5": ((5,), (5,), (5,), (5,), (5,)),
}
WIDTHS = (64, 128, 256, 512, 512)
Init = Literal["normal", "glorot", "kaiming"]


class VGG(nn.Module):
    """A VGG network of configuration ``config`` ("A".."E"; ``lrn=True`` with "A" is A-LRN).

    ``features`` holds the convolutions (each followed by a ReLU; an LRN after the first one when
    ``lrn``) and the five 2x2/2 max-pools; ``classifier`` the fully-connected layers fc6, fc7
    (``hidden`` units, ReLU, dropout) and fc8. fc6 sees a ``window`` x ``window`` map (7 for
    224x224 ImageNet input, 1 for the 32x32 CIFAR variants). Initialisation: ``init="normal"``
    draws weights from N(0, ``init_std``^2), ``"glorot"`` from Glorot & Bengio's uniform
    distribution, ``"kaiming"`` from He et al.'s (2015) N(0, 2 / fan_in) (not in the paper, which
    predates it: for short runs, where deep nets cannot wait to leave Glorot's shrinking initial
    signal); biases 0 (module docstring for the choice of 0.01).
    """

    def __init__(self, *, config: str = "D", num_classes: int = 1000, in_channels: int = 3, lrn: bool = False,
                 widths: Sequence[int] = WIDTHS, hidden: int = 4096, window: int = 7, dropout: float = 0.5,
                 init: Init = "normal", init_std: float = 0.01):
        super().__init__()
        if config not in CONFIGS:
            raise UserError(f"unknown VGG configuration {config!r}; choose one of {', '.join(CONFIGS)}")
        self.config, self.window = config, window
        layers: list[nn.Module] = []
        channels = in_channels
        for stage, (kernels, width) in enumerate(zip(CONFIGS[config], widths)):
            for i, k in enumerate(kernels):
                layers += [nn.Conv2d(channels, width, k, padding=k // 2), nn.ReLU()]
                if lrn and stage == 0 and i == 0:
                    layers.append(LocalResponseNorm())  # A-LRN: after the first layer, AlexNet's parameters
                channels = width
            layers.append(nn.MaxPool2d(2, stride=2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(window)  # identity at 224x224 (module docstring)
        self.classifier = nn.Sequential(
            nn.Linear(channels * window * window, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes))
        self.reset_parameters(init=init, init_std=init_std)

    def reset_parameters(self, *, init: Init = "normal", init_std: float = 0.01) -> None:
        """Section 3.1's random initialisation (see the class docstring); biases 0."""
        if init not in ("normal", "glorot", "kaiming"):
            raise UserError(f"unknown init {init!r}; choose 'normal', 'glorot' or 'kaiming'")
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if init == "normal":
                    nn.init.normal_(m.weight, 0.0, init_std)
                elif init == "glorot":
                    nn.init.xavier_uniform_(m.weight)
                else:  # He et al. (2015), Eq. 10: N(0, 2 / fan_in), not in the paper
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def convs(self) -> dict[str, nn.Conv2d]:
        """The convolutions named as the paper's layers, ``conv{stage}_{index}``: conv1_1 .. conv5_4."""
        named, stage, index = {}, 1, 1
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                named[f"conv{stage}_{index}"] = m
                index += 1
            elif isinstance(m, nn.MaxPool2d):
                stage, index = stage + 1, 1
        return named

    def fcs(self) -> dict[str, nn.Linear]:
        """fc6, fc7, fc8."""
        return {"fc6": self.classifier[0], "fc7": self.classifier[3], "fc8": self.classifier[6]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 224, 224)
        x = self.avgpool(self.features(x)).flatten(1)  # (B, 512*7*7)
        return self.classifier(x)  # (B, num_classes)

    def score_map(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W)
        """The class score map of Section 3.2's dense evaluation, (B, num_classes, H/32 - 6, W/32 - 6).

        fc6 is applied as a ``window`` x ``window`` convolution and fc7, fc8 as 1x1 convolutions,
        with the fully-connected weights reshaped (no copy). Dropout is off, as at test time; at
        224x224 the map is 1x1 and equals :meth:`forward` in eval mode.
        """
        fc6, fc7, fc8 = self.fcs().values()
        x = self.features(x)  # (B, 512, H/32, W/32)
        x = torch.relu(F.conv2d(x, fc6.weight.view(fc6.out_features, -1, self.window, self.window), fc6.bias))
        x = torch.relu(F.conv2d(x, fc7.weight[:, :, None, None], fc7.bias))  # (B, 4096, h, w)
        return F.conv2d(x, fc8.weight[:, :, None, None], fc8.bias)  # (B, num_classes, h, w)


def dense_evaluate(model: VGG, images: torch.Tensor, *, scales: Sequence[int] = (256, 384, 512),
                   flip: bool = True) -> torch.Tensor:
    """Section 3.2's dense multi-scale evaluation: class posteriors, (B, num_classes).

    For each scale Q the images (B, 3, H, W; already mean-subtracted floats) are resized so the
    shorter side is Q (:func:`~paperzoo.data.imagenet.resize_shorter`), the class score map is
    spatially averaged ("sum-pooled") into one score vector, and the softmax posteriors are
    averaged over the scales and, when ``flip``, the horizontally flipped images (Section 4.2,
    "averaging the resulting class posteriors"). The model is put in eval mode.
    """
    model.eval()
    posteriors = []
    with torch.no_grad():
        for q in scales:
            x = resize_shorter(images, q)
            for view in (x, hflip(x)) if flip else (x,):
                scores = model.score_map(view).mean(dim=(2, 3))  # (B, num_classes): spatial average
                posteriors.append(scores.softmax(dim=1))
    return torch.stack(posteriors).mean(dim=0)


def init_from(model: VGG, trained: VGG, *, convs: int = 4) -> list[str]:
    """Section 3.1: initialise a deeper ``model`` from a trained configuration-A net, in place.

    Copies ``trained``'s first ``convs`` convolutions (A: conv1_1, conv2_1, conv3_1, conv3_2)
    into the layers of the same name in ``model`` (their shapes agree in every configuration)
    and the three fully-connected layers; the other layers keep their random initialisation.
    Returns the names of the copied layers.
    """
    source = {**dict(list(trained.convs().items())[:convs]), **trained.fcs()}
    target: Mapping[str, nn.Module] = {**model.convs(), **model.fcs()}
    for name, layer in source.items():
        if name not in target or target[name].weight.shape != layer.weight.shape:
            shape = tuple(target[name].weight.shape) if name in target else "missing"
            raise UserError(f"cannot copy {name} {tuple(layer.weight.shape)} into {shape}")
    with torch.no_grad():
        for name, layer in source.items():
            target[name].weight.copy_(layer.weight)
            target[name].bias.copy_(layer.bias)
    return list(source)


# ----------------------------------------------------------------------------------------------
# ImageNet networks (Table 1), 224x224 input.

_IMAGENET = dict(paper="vgg", input_size=(3, 224, 224), num_classes=1000)


@register_model(**_IMAGENET)
def vgg11(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
          dropout: float = 0.5) -> VGG:
    """VGG configuration A (Table 1, 11 weight layers), 132,863,336 parameters."""
    return VGG(config="A", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


@register_model(**_IMAGENET)
def vgg11_lrn(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
              dropout: float = 0.5) -> VGG:
    """VGG configuration A-LRN (Table 1: A with LRN after the first layer), 132,863,336 parameters."""
    return VGG(config="A", lrn=True, num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


@register_model(**_IMAGENET)
def vgg13(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
          dropout: float = 0.5) -> VGG:
    """VGG configuration B (Table 1, 13 weight layers), 133,047,848 parameters."""
    return VGG(config="B", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


@register_model(**_IMAGENET)
def vgg16_c(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
            dropout: float = 0.5) -> VGG:
    """VGG configuration C (Table 1, 16 weight layers, three of them 1x1), 133,638,952 parameters."""
    return VGG(config="C", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


@register_model(**_IMAGENET)
def vgg16(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
          dropout: float = 0.5) -> VGG:
    """VGG configuration D (Table 1, 16 weight layers), 138,357,544 parameters."""
    return VGG(config="D", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


@register_model(**_IMAGENET)
def vgg19(*, num_classes: int = 1000, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
          dropout: float = 0.5) -> VGG:
    """VGG configuration E (Table 1, 19 weight layers), 143,667,240 parameters."""
    return VGG(config="E", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
               dropout=dropout)


# ----------------------------------------------------------------------------------------------
# CIFAR-10 adaptations (not in the paper): the same stacks, fc6/fc7 of 512 units on 1x1 maps.

_CIFAR = dict(paper="vgg", input_size=(3, 32, 32), num_classes=10)


def _cifar(config: str, **kwargs) -> VGG:
    return VGG(config=config, window=1, **kwargs)


CIFAR_HIDDEN = 512


@register_model(**_CIFAR, tiny=True)
def vgg_tiny(*, num_classes: int = 10, in_channels: int = 3, init: Init = "glorot", init_std: float = 0.01,
             dropout: float = 0.0) -> VGG:
    """VGG configuration A for CIFAR with widths 8/16/32/64/64 and 64-unit FC layers (for tests), 0.15M parameters.

    Glorot initialisation and no dropout by default, so that the test suite's 60-step one-batch
    overfit converges (with N(0, 0.01^2) weights or dropout 0.5 its loss stays at chance).
    """
    return VGG(config="A", widths=(8, 16, 32, 64, 64), hidden=64, window=1, num_classes=num_classes,
               in_channels=in_channels, init=init, init_std=init_std, dropout=dropout)


@register_model(**_CIFAR)
def vgg11_cifar(*, num_classes: int = 10, in_channels: int = 3, lrn: bool = False, init: Init = "normal",
                init_std: float = 0.01, dropout: float = 0.5, widths: Sequence[int] = WIDTHS,
                hidden: int = CIFAR_HIDDEN) -> VGG:
    """VGG configuration A (or A-LRN with ``lrn=True``) for CIFAR-10, 512-unit FC layers, 9.8M parameters."""
    return _cifar("A", lrn=lrn, num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)


@register_model(**_CIFAR)
def vgg13_cifar(*, num_classes: int = 10, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
                dropout: float = 0.5, widths: Sequence[int] = WIDTHS, hidden: int = CIFAR_HIDDEN) -> VGG:
    """VGG configuration B for CIFAR-10, 512-unit FC layers, 9.9M parameters."""
    return _cifar("B", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)


@register_model(**_CIFAR)
def vgg16_c_cifar(*, num_classes: int = 10, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
                  dropout: float = 0.5, widths: Sequence[int] = WIDTHS, hidden: int = CIFAR_HIDDEN) -> VGG:
    """VGG configuration C (with 1x1 convolutions) for CIFAR-10, 512-unit FC layers, 10.5M parameters."""
    return _cifar("C", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)


@register_model(**_CIFAR)
def vgg16_cifar(*, num_classes: int = 10, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
                dropout: float = 0.5, widths: Sequence[int] = WIDTHS, hidden: int = CIFAR_HIDDEN) -> VGG:
    """VGG configuration D for CIFAR-10, 512-unit FC layers, 15.2M parameters."""
    return _cifar("D", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)


@register_model(**_CIFAR)
def vgg19_cifar(*, num_classes: int = 10, in_channels: int = 3, init: Init = "normal", init_std: float = 0.01,
                dropout: float = 0.5, widths: Sequence[int] = WIDTHS, hidden: int = CIFAR_HIDDEN) -> VGG:
    """VGG configuration E for CIFAR-10, 512-unit FC layers, 20.6M parameters."""
    return _cifar("E", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)


@register_model(**_CIFAR)
def vgg_shallow5x5_cifar(*, num_classes: int = 10, in_channels: int = 3, init: Init = "normal",
                         init_std: float = 0.01, dropout: float = 0.5, widths: Sequence[int] = WIDTHS,
                         hidden: int = CIFAR_HIDDEN) -> VGG:
    """Section 4.1's shallow net for CIFAR-10: B with each pair of 3x3 layers replaced by one 5x5, 11.4M parameters."""
    return _cifar("B-5x5", num_classes=num_classes, in_channels=in_channels, init=init, init_std=init_std,
                  dropout=dropout, widths=widths, hidden=hidden)
