"""The models of Adam's experiments on MNIST (Kingma & Ba 2015, Sections 6.1, 6.2 and 6.4).

Kingma & Ba (2015). *Adam: A Method for Stochastic Optimization*. arXiv:1412.6980.

* Section 6.1: "L2-regularized multi-class logistic regression ... classifies the class label
  directly on the 784 dimension image vectors" (``adam_logreg``; the L2 term belongs to the
  optimizer settings of the experiment, not to the model).
* Section 6.2: "a neural network model with two fully connected hidden layers with 1000 hidden
  units each and ReLU activation", trained "with dropout noise" (``adam_mlp``). The paper gives no
  dropout rates: we use 0.2 on the input and 0.5 on the hidden units, the rates of Srivastava et
  al. (2014) for MNIST MLPs.
* Section 6.4: a variational auto-encoder "with the same architecture as in (Kingma & Welling,
  2013) with a single hidden layer with 500 hidden units with softplus nonlinearities and a
  50-dimensional spherical Gaussian latent variable" (:class:`VAE`, not registered: it is not a
  classifier; :mod:`paperzoo.papers.vae`'s model with Adam's defaults). Its decoder mirrors
  the encoder (one softplus layer of 500) and outputs Bernoulli means for the 784 pixels,
  Kingma & Welling's MNIST model; weights are drawn from N(0, 0.01²)
  as their Section 5 says ("N(0, 0.01)", read as the standard deviation), biases are zero.

The classifiers are :class:`paperzoo.nn.MLP` with PyTorch's default initialisation (the paper
gives none; it uses "the same parameter initialization when comparing different optimization
algorithms", which the shared seed gives us).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...nn import MLP
from ...registry import register_model
from ..vae.model import VAE as KingmaWellingVAE
from ..vae.model import negative_elbo

__all__ = ["VAE", "adam_logreg", "adam_mlp", "adam_mlp_tiny", "negative_elbo"]

#: Section 6.2: two hidden layers of 1000 ReLU units.
PAPER_HIDDEN: tuple[int, ...] = (1000, 1000)
#: Dropout rates on the input and on the hidden units (Srivastava et al. 2014's; Adam gives none).
INPUT_DROPOUT, HIDDEN_DROPOUT = 0.2, 0.5


@register_model(paper="adam", input_size=(1, 28, 28), num_classes=10)
def adam_logreg(*, num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> MLP:
    """Section 6.1: multi-class logistic regression on the flattened image (softmax of Wx + b)."""
    return MLP(in_features=in_channels * image_size * image_size, hidden=(), out_features=num_classes)


@register_model(paper="adam", input_size=(1, 28, 28), num_classes=10)
def adam_mlp(*, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
             hidden: Sequence[int] = PAPER_HIDDEN, dropout: float = HIDDEN_DROPOUT,
             input_dropout: float = INPUT_DROPOUT) -> MLP:
    """Section 6.2: two fully connected hidden layers of 1000 ReLU units, with dropout."""
    return MLP(in_features=in_channels * image_size * image_size, hidden=tuple(hidden), out_features=num_classes,
               activation="relu", dropout=dropout, input_dropout=input_dropout)


@register_model(paper="adam", input_size=(1, 28, 28), num_classes=10, tiny=True)
def adam_mlp_tiny(*, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.1,
                  input_dropout: float = 0.0) -> MLP:
    """Tiny variant for tests: one hidden layer of 32 ReLU units, light dropout."""
    return adam_mlp(num_classes=num_classes, in_channels=in_channels, hidden=(32,), dropout=dropout,
                    input_dropout=input_dropout)


class VAE(KingmaWellingVAE):
    """Kingma & Welling's MNIST VAE (:class:`paperzoo.papers.vae.model.VAE`) as Adam's Section 6.4
    describes it: softplus hidden units and a 50-dimensional latent by default.

    Encoder q(z|x): h = softplus(W₁x + b₁), μ = W₂h + b₂, log σ² = W₃h + b₃.
    Decoder p(x|z): h' = softplus(W₄z + b₄), logits = W₅h' + b₅, x ~ Bernoulli(sigmoid(logits)).
    ``forward`` returns (logits, μ, log σ²) with z drawn by the reparameterisation z = μ + σ·ε.
    """

    def __init__(self, *, in_features: int = 784, hidden: int = 500, latent: int = 50, init_std: float = 0.01,
                 activation: str = "softplus"):
        super().__init__(in_features=in_features, hidden=hidden, latent=latent, init_std=init_std,
                         activation=activation)
