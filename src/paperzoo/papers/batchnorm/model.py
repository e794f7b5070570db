"""The MNIST network of batch normalisation's Section 4.1, with and without BN.

Ioffe & Szegedy (2015). *Batch Normalization: Accelerating Deep Network Training by Reducing
Internal Covariate Shift*. arXiv:1502.03167.

Section 4.1: "a 28x28 binary image as input, and 3 fully-connected hidden layers with 100
activations each. Each hidden layer computes y = g(Wu + b) with sigmoid nonlinearity, and the
weights W initialized to small random Gaussian values. The last hidden layer is followed by a
fully-connected layer with 10 activations (one per class) and cross-entropy loss." The
batch-normalised network adds BN to each hidden layer as in Section 3.1-3.2: y = g(BN(Wu)), the
bias dropped because beta subsumes it. The layers are :class:`paperzoo.nn.MLP`'s
(:class:`paperzoo.nn.BatchNorm1d`, written from Algorithms 1 and 2).

Choices the paper leaves open (each also stated where it is made):

- "Small random Gaussian values": N(0, ``init_std``^2) with ``init_std`` = 0.01 for every weight
  matrix (hidden and output), zero biases; the paper gives no number.
- The input is the MNIST image as the data pipeline gives it, normalised to zero mean and unit
  variance over the training set, not binarised (the shared pipeline has no binarisation; the
  normalisation is an affine map of the grey levels, which the first layer can absorb).
- BN uses torch's defaults (momentum 0.1, eps 1e-5) for its moving averages; the paper does not
  give them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...nn import MLP
from ...registry import register_model

__all__ = ["mnist_mlp"]

#: Section 4.1: three hidden layers of 100 sigmoid units.
PAPER_HIDDEN: tuple[int, ...] = (100, 100, 100)
#: "Small random Gaussian values": our choice of standard deviation (the paper gives none).
INIT_STD = 0.01


def mnist_mlp(*, batch_norm: bool, hidden: Sequence[int] = PAPER_HIDDEN, num_classes: int = 10,
              in_channels: int = 1, image_size: int = 28, activation: str = "sigmoid",
              init_std: float = INIT_STD) -> MLP:
    """A fully connected network on flattened images: sigmoid hidden layers, BN before each
    nonlinearity when ``batch_norm``, Gaussian-initialised weights."""
    return MLP(in_features=in_channels * image_size * image_size, hidden=tuple(hidden), out_features=num_classes,
               activation=activation, norm="batch" if batch_norm else None, init="gaussian", init_std=init_std)


@register_model(paper="batchnorm", input_size=(1, 28, 28), num_classes=10)
def mlp_sigmoid(*, num_classes: int = 10, in_channels: int = 1, hidden: Sequence[int] = PAPER_HIDDEN,
                activation: str = "sigmoid", init_std: float = INIT_STD) -> MLP:
    """Section 4.1's baseline MNIST network N: 3 hidden layers of 100 sigmoid units, no BN."""
    return mnist_mlp(batch_norm=False, hidden=hidden, num_classes=num_classes, in_channels=in_channels,
                     activation=activation, init_std=init_std)


@register_model(paper="batchnorm", input_size=(1, 28, 28), num_classes=10)
def mlp_sigmoid_bn(*, num_classes: int = 10, in_channels: int = 1, hidden: Sequence[int] = PAPER_HIDDEN,
                   activation: str = "sigmoid", init_std: float = INIT_STD) -> MLP:
    """Section 4.1's batch-normalised network N_BN: BN before each of the 3 sigmoid layers."""
    return mnist_mlp(batch_norm=True, hidden=hidden, num_classes=num_classes, in_channels=in_channels,
                     activation=activation, init_std=init_std)


@register_model(paper="batchnorm", input_size=(1, 28, 28), num_classes=10, tiny=True)
def mlp_sigmoid_tiny(*, num_classes: int = 10, in_channels: int = 1, batch_norm: bool = True,
                     init_std: float = 0.1) -> MLP:
    """Tiny variant for tests: one hidden layer of 64 sigmoid units, BN by default, weights N(0, 0.1^2)."""
    return mnist_mlp(batch_norm=batch_norm, hidden=(64,), num_classes=num_classes, in_channels=in_channels,
                     init_std=init_std)
