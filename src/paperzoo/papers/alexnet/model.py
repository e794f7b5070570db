"""AlexNet and the paper's four-layer CIFAR-10 network.

Krizhevsky, Sutskever, Hinton (2012). *ImageNet Classification with Deep Convolutional Neural
Networks*. NeurIPS 2012.

- Section 3.1: ReLU, f(x) = max(0, x), after every convolutional and fully-connected layer.
- Section 3.2: the net is split over two GPUs; the kernels of conv2, conv4 and conv5 see only
  the maps of their own GPU, those of conv3 and of the fully-connected layers see all of them.
  A single-device equivalent is a *grouped* convolution with two groups for conv2, conv4, conv5
  (group g's output channels depend on group g's input channels only); conv1 sees the whole
  image on both GPUs, so it is an ordinary convolution.
- Section 3.3: local response normalisation (k=2, n=5, alpha=1e-4, beta=0.75,
  :class:`~paperzoo.nn.lrn.LocalResponseNorm`) after the ReLU of conv1 and conv2.
- Section 3.4: overlapping max-pooling, 3x3 windows with stride 2, after both normalisation
  layers and after conv5.
- Section 3.5, Fig. 2: 96 11x11x3 kernels with stride 4; 256 5x5x48; 384 3x3x256; 384 3x3x192;
  256 3x3x192; fully-connected layers of 4096, 4096 and 1000 neurons.
- Section 4.2: dropout 0.5 on the outputs of the first two fully-connected layers.
- Section 5: weights ~ N(0, 0.01^2); biases 1 in conv2, conv4, conv5 and the two hidden
  fully-connected layers ("accelerates the early stages of learning by providing the ReLUs with
  positive inputs"), 0 elsewhere.

Parameters (1000 classes), each layer weights + biases:

    conv1  11*11*3*96   + 96   =     34,944
    conv2  5*5*48*256   + 256  =    307,456   (2 groups: each kernel is 5x5x48, not 5x5x96)
    conv3  3*3*256*384  + 384  =    885,120
    conv4  3*3*192*384  + 384  =    663,936   (2 groups)
    conv5  3*3*192*256  + 256  =    442,624   (2 groups)
    fc6    6*6*256*4096 + 4096 = 37,752,832
    fc7    4096*4096    + 4096 = 16,781,312
    fc8    4096*1000    + 1000 =  4,097,000
    total                        60,965,224   ("60 million parameters", Section 4)

torchvision's ``alexnet`` is a different, one-GPU net (64/192/384/256/256 kernels, no grouping,
no LRN; Krizhevsky 2014, "One weird trick") with 61,100,840 parameters.

Input size (the "224 vs 227" question): the paper says 224x224 inputs give 55x55 maps after
conv1, but (224 - 11) / 4 + 1 = 54.25 is not an integer; Caffe's reference net takes 227x227
crops with no padding. Here conv1 pads by 2 pixels: floor((224 + 4 - 11) / 4) + 1 = 55, so a
224x224 input (the paper's stated size and the crop of :mod:`paperzoo.data.imagenet`) gives
exactly Fig. 2's maps, 55 -> 27 -> 13 -> 6 after pool5, as torchvision does. A 227x227 input
gives the same map sizes (56 -> 27 after pool1). Padding adds no parameters.

Deviations and choices (each also stated where it is made):

- An adaptive average pooling to 6x6 sits before fc6 (as torchvision). At 224x224 (and 227x227)
  pool5 already gives 6x6 maps and it is the identity, so the paper's network is unchanged; it
  lets the net run on smaller images (the test suite uses 64x64), where it repeats or averages
  the maps to 6x6.
- ReLUs are not in place, so hooks may keep the activations.
- ``init="he"`` (N(0, 2 / fan_in) weights, the paper's biases) is an extension; ``alexnet_tiny``,
  the test-suite variant, uses it and no dropout by default (see its docstring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import UserError
from ...nn.lrn import LocalResponseNorm
from ...registry import register_model

__all__ = ["AlexNet", "CifarConvNet", "LocallyConnected2d", "ALEXNET_PARAMS"]

#: The parameter count of the paper's network with 1000 classes (module docstring).
ALEXNET_PARAMS = 60_965_224

Init = Literal["paper", "he"]


class AlexNet(nn.Module):
    """The network of Fig. 2: five convolutional and three fully-connected layers.

    ``widths`` are the kernels of conv1..conv5 (96, 256, 384, 384, 256) and ``hidden`` the
    neurons of fc6 and fc7 (4096); ``groups=2`` is the two-GPU split of conv2, conv4, conv5, and
    ``groups=1`` connects every layer to all maps of the previous one. (Section 3.2's one-GPU
    comparison net is neither: it halves the kernels of conv1-conv4; pass ``widths`` for it.)
    ``lrn=False`` drops the response normalisation (Section 3.3's ablation). Layer names follow
    the paper's (conv1 .. fc8). The adaptive 6x6 average pooling before fc6 is the identity at
    224x224 input (module docstring). ``init`` is "paper" (Section 5) or "he" (not in the paper).
    """

    def __init__(self, *, num_classes: int = 1000, in_channels: int = 3,
                 widths: Sequence[int] = (96, 256, 384, 384, 256), hidden: int = 4096, groups: int = 2,
                 lrn: bool = True, dropout: float = 0.5, init: Init = "paper"):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.conv1 = nn.Conv2d(in_channels, c1, 11, stride=4, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2, groups=groups)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.conv4 = nn.Conv2d(c3, c4, 3, padding=1, groups=groups)
        self.conv5 = nn.Conv2d(c4, c5, 3, padding=1, groups=groups)
        self.lrn1 = LocalResponseNorm() if lrn else nn.Identity()
        self.lrn2 = LocalResponseNorm() if lrn else nn.Identity()
        self.pool = nn.MaxPool2d(3, stride=2)  # Section 3.4: overlapping, s=2 < z=3
        self.avgpool = nn.AdaptiveAvgPool2d(6)  # identity at 224x224 (module docstring)
        self.fc6 = nn.Linear(c5 * 6 * 6, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters(init=init)

    def reset_parameters(self, *, init: Init = "paper") -> None:
        """Section 5: weights ~ N(0, 0.01^2); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0.

        ``init="he"`` draws the weights from N(0, 2 / fan_in) instead (He et al. 2015; not in the
        paper), keeping the paper's biases.
        """
        if init not in ("paper", "he"):
            raise UserError(f"unknown init {init!r}; choose 'paper' or 'he'")
        for layer in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.fc6, self.fc7, self.fc8):
            if init == "paper":
                nn.init.normal_(layer.weight, 0.0, 0.01)
            else:
                nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        for layer in (self.conv2, self.conv4, self.conv5, self.fc6, self.fc7):
            nn.init.ones_(layer.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 224, 224)
        x = self.pool(self.lrn1(torch.relu(self.conv1(x))))  # (B, 96, 55, 55) -> (B, 96, 27, 27)
        x = self.pool(self.lrn2(torch.relu(self.conv2(x))))  # (B, 256, 27, 27) -> (B, 256, 13, 13)
        x = torch.relu(self.conv3(x))  # (B, 384, 13, 13)
        x = torch.relu(self.conv4(x))  # (B, 384, 13, 13)
        return self.pool(torch.relu(self.conv5(x)))  # (B, 256, 6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 224, 224)
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (B, 9216)
        x = self.dropout(torch.relu(self.fc6(x)))  # (B, 4096)
        x = self.dropout(torch.relu(self.fc7(x)))  # (B, 4096)
        return self.fc8(x)  # (B, num_classes)


class LocallyConnected2d(nn.Module):
    """A convolution without weight sharing: every output position has its own kernels.

    cuda-convnet's ``local`` layer: ``out[b, o, p] = sum_{c, u} W[p, o, c, u] x[b, c, p + u] + bias[o, p]``
    over the k x k window u of position p, with one bias per output unit (position and filter).
    The input's spatial size is fixed at construction (``in_size``).
    """

    def __init__(self, *, in_channels: int, out_channels: int, in_size: int, kernel_size: int, padding: int = 0):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.out_size = in_size + 2 * padding - kernel_size + 1
        positions = self.out_size ** 2
        # (P, O, C*k*k): one kernel per output position
        self.weight = nn.Parameter(torch.empty(positions, out_channels, in_channels * kernel_size ** 2))
        nn.init.normal_(self.weight, 0.0, 0.01)
        self.bias = nn.Parameter(torch.zeros(out_channels, positions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        patches = F.unfold(x, self.kernel_size, padding=self.padding)  # (B, C*k*k, P)
        out = torch.einsum("bkp,pok->bop", patches, self.weight) + self.bias  # (B, O, P)
        return out.view(x.shape[0], -1, self.out_size, self.out_size)  # (B, O, H', W')


Activation = Literal["relu", "tanh"]
CifarInit = Literal["cuda-convnet", "fan-in"]
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class CifarConvNet(nn.Module):
    """The "four-layer CNN" of Section 3.3 (and, with ``activation``, of Fig. 1) for CIFAR-10.

    Footnote 3 of the paper says the net is "specified precisely by the code and parameter files"
    of cuda-convnet: ``layers-conv-local-11pct.cfg`` (11% test error, with normalisation) and
    ``layers-conv-local-13pct.cfg`` (13%, without) are the same net with and without response
    normalisation, the paper's 11% / 13% pair. Layers:

        conv1  64 5x5 kernels, pad 2, ReLU, [cross-map response norm], max-pool 3x3/2
        conv2  64 5x5 kernels, pad 2, ReLU, [cross-map response norm], max-pool 3x3/2
        local3 32 3x3 locally connected (unshared) filters, pad 1, ReLU
        local4 32 3x3 locally connected filters, pad 1, ReLU
        fc10   num_classes outputs (softmax in the loss)

    The normalisation is cuda-convnet's ``size=5, scale=0.001, pow=0.75``; cuda-convnet divides
    ``scale`` by the size and adds 1, i.e. the paper's formula with n=5, alpha=2e-4, k=1,
    beta=0.75. Pools round up, as cuda-convnet's (``ceil_mode``): 32 -> 16 -> 8 (24 -> 12 -> 6).
    Initialisation follows the files: weights ~ N(0, s^2) with s = 1e-4 (conv1), 0.01 (conv2),
    0.04 (local3, local4), 0.01 (fc10); biases 0.

    Choices and deviations:

    - ``image_size=32`` (default) takes whole CIFAR images; cuda-convnet trained on random 24x24
      crops (``image_size=24``) and tested on several crops. The locally connected layers fix
      the spatial size, so the model only accepts ``image_size`` inputs.
    - ``activation="tanh"`` swaps every ReLU for tanh: Fig. 1's comparison (the paper does not
      specify Fig. 1's net beyond "a four-layer convolutional neural network").
    - ``local=False`` replaces the two locally connected layers by ordinary 3x3 convolutions
      (shared weights; far fewer parameters and faster on a CPU); not in the paper.
    - ``pool=2`` uses non-overlapping 2x2 windows with stride 2 instead of the overlapping 3x3/2
      (Section 3.4's comparison, made in the paper on ImageNet); both give the same map sizes.
    - ``dropout`` > 0 drops the outputs of local3 and local4 (Section 4.2 drops the outputs of
      AlexNet's two hidden fully-connected layers; the CIFAR net has none, and its two unshared
      layers, which hold 1.77M of its 1.9M parameters, take their place). 0 (default): the
      cuda-convnet net, which has no dropout.
    - ``init="fan-in"`` draws every weight from N(0, g^2 / fan_in), g^2 = 2 for ReLU (He et al. 2015)
      and 1 for tanh (LeCun et al. 1998), keeping the activations' scale through the layers; not in
      the paper. The files' tiny weights (s = 1e-4 in conv1) keep both nets near-linear early in
      training, where tanh does not saturate (see ``alexnet.relu-vs-tanh``).
    """

    def __init__(self, *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32, lrn: bool = True,
                 activation: Activation = "relu", local: bool = True, widths: Sequence[int] = (64, 64, 32, 32),
                 pool: int = 3, dropout: float = 0.0, init: CifarInit = "cuda-convnet"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise UserError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if pool not in (2, 3):
            raise UserError(f"pool must be 3 (overlapping 3x3/2, the paper's) or 2 (2x2/2), got {pool}")
        c1, c2, c3, c4 = widths
        size = self._pooled(self._pooled(image_size, pool), pool)
        self.conv1 = nn.Conv2d(in_channels, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2)
        if local:
            self.local3 = LocallyConnected2d(in_channels=c2, out_channels=c3, in_size=size, kernel_size=3, padding=1)
            self.local4 = LocallyConnected2d(in_channels=c3, out_channels=c4, in_size=size, kernel_size=3, padding=1)
        else:
            self.local3 = nn.Conv2d(c2, c3, 3, padding=1)
            self.local4 = nn.Conv2d(c3, c4, 3, padding=1)
        self.fc10 = nn.Linear(c4 * size * size, num_classes)
        self.act = ACTIVATIONS[activation]()
        self.norm1, self.norm2 = (self._norm() if lrn else nn.Identity() for _ in range(2))
        # Section 3.4: overlapping pooling, z=3 > s=2 (pool=2: the traditional z = s = 2); rounding up as cuda-convnet
        self.pool = nn.MaxPool2d(pool, stride=2, ceil_mode=True)
        self.dropout = nn.Dropout(dropout)  # Section 4.2, on the outputs of local3 and local4 (class docstring)
        self.activation = activation
        self.reset_parameters(init=init)

    @staticmethod
    def _norm() -> LocalResponseNorm:
        # cuda-convnet's cross-map rnorm, size=5, scale=0.001, pow=0.75: 1 + (scale / size) * sum
        return LocalResponseNorm(size=5, alpha=0.001 / 5, beta=0.75, k=1.0)

    @staticmethod
    def _pooled(size: int, window: int = 3) -> int:
        return -(-(size - window) // 2) + 1  # ceil((size - z) / 2) + 1 with stride 2

    def reset_parameters(self, *, init: CifarInit = "cuda-convnet") -> None:
        """Weights ~ N(0, s^2) with the cuda-convnet files' ``initW`` s, biases 0 (class docstring);
        ``init="fan-in"``: s^2 = g^2 / fan_in, g^2 = 2 for ReLU and 1 for tanh (and for fc10)."""
        if init not in ("cuda-convnet", "fan-in"):
            raise UserError(f"unknown init {init!r}; choose 'cuda-convnet' or 'fan-in'")
        gain = 2.0 if self.activation == "relu" else 1.0
        for layer, std in ((self.conv1, 1e-4), (self.conv2, 0.01), (self.local3, 0.04), (self.local4, 0.04),
                           (self.fc10, 0.01)):
            if init == "fan-in":
                # fan_in: C*k*k for a (shared or unshared) kernel, the inputs of a linear layer
                fan_in = layer.weight.shape[-1] if isinstance(layer, LocallyConnected2d) else layer.weight[0].numel()
                std = math.sqrt((1.0 if layer is self.fc10 else gain) / fan_in)
            nn.init.normal_(layer.weight, 0.0, std)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 32, 32)
        x = self.pool(self.norm1(self.act(self.conv1(x))))  # (B, 64, 16, 16)
        x = self.pool(self.norm2(self.act(self.conv2(x))))  # (B, 64, 8, 8)
        x = self.dropout(self.act(self.local3(x)))  # (B, 32, 8, 8)
        x = self.dropout(self.act(self.local4(x)))  # (B, 32, 8, 8)
        return self.fc10(x.flatten(1))  # (B, num_classes)


# ----------------------------------------------------------------------------------------------
# Registered models.


@register_model(paper="alexnet", input_size=(3, 224, 224), num_classes=1000)
def alexnet(*, num_classes: int = 1000, in_channels: int = 3, lrn: bool = True, groups: int = 2,
            dropout: float = 0.5, init: Init = "paper") -> AlexNet:
    """AlexNet (Fig. 2): two-tower grouped conv2/4/5, LRN, overlapping pooling, 60,965,224 parameters."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, lrn=lrn, groups=groups, dropout=dropout,
                   init=init)


@register_model(paper="alexnet", input_size=(3, 224, 224), num_classes=1000, tiny=True)
def alexnet_tiny(*, num_classes: int = 1000, in_channels: int = 3, lrn: bool = True, groups: int = 2,
                 dropout: float = 0.0, init: Init = "he") -> AlexNet:
    """AlexNet's layers with 16/32/48/48/32 kernels and 64-unit FC layers (for tests), 0.2M parameters.

    Defaults differ from the paper so that the test suite's 60-step one-batch overfit converges:
    no dropout, and He-initialised weights (with N(0, 0.01^2) the loss of this small net barely
    moves in 60 Adam steps). ``dropout=0.5, init="paper"`` gives the paper's settings.
    """
    return AlexNet(num_classes=num_classes, in_channels=in_channels, widths=(16, 32, 48, 48, 32), hidden=64,
                   lrn=lrn, groups=groups, dropout=dropout, init=init)


@register_model(paper="alexnet", input_size=(3, 32, 32), num_classes=10)
def cifar_convnet(*, num_classes: int = 10, in_channels: int = 3, image_size: int = 32, lrn: bool = True,
                  activation: Activation = "relu", local: bool = True, widths: Sequence[int] = (64, 64, 32, 32),
                  pool: int = 3, dropout: float = 0.0, init: CifarInit = "cuda-convnet") -> CifarConvNet:
    """The paper's four-layer CIFAR-10 CNN (Section 3.3, cuda-convnet conv-local-11pct), 1.9M parameters.

    The options are the paper's ablations (see :class:`CifarConvNet`): ``activation="tanh"`` (Fig. 1),
    ``lrn=False`` (Section 3.3), ``pool=2`` (Section 3.4), ``dropout=0.5`` (Section 4.2).
    """
    return CifarConvNet(num_classes=num_classes, in_channels=in_channels, image_size=image_size, lrn=lrn,
                        activation=activation, local=local, widths=widths, pool=pool, dropout=dropout, init=init)
