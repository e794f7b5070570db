"""The adversarial nets of Goodfellow et al. (2014), *Generative Adversarial Nets*, arXiv:1406.2661:
a generator G(z; θ_g) and a discriminator D(x; θ_d), both multilayer perceptrons, and the losses of
the minimax game (Eq. 1) and of the non-saturating variant (Section 3).

Architecture (Section 5: "the generator nets used a mixture of rectifier linear activations and
sigmoid activations, while the discriminator net used maxout activations. Dropout was applied in
training the discriminator net ... we used noise as the input to only the bottommost layer of the
generator network"). The sizes are those of the paper's MNIST configuration, ``mnist.yaml`` in the
authors' code (github.com/goodfeli/adversarial, read for the facts below, no code taken):

* G: 100-d noise → ReLU 1200 → ReLU 1200 → sigmoid 784; weights U(−0.05, 0.05) (``irange: .05``),
  the output bias set from the pixel marginals of the training set, log(m/(1 − m))
  (``init_sigmoid_bias_from_marginals``; :meth:`Generator.init_output_bias`), other biases 0.
  The noise: ``noise: 'uniform'`` in ``mnist.yaml`` (commit f77a509), U(−√3, √3) per coordinate
  (zero mean, unit variance; ``Generator.get_noise`` in the repository's ``__init__.py``); another
  stored version of ``mnist.yaml`` leaves ``noise`` unset, which defaults to N(0, 1). We use the
  uniform one (``noise="gaussian"`` gives the other).
* D: maxout 240 units × 5 pieces → maxout 240 × 5 → sigmoid 1; weights U(−0.005, 0.005)
  (``irange: .005``). Dropout (``AdversaryCost2``): the input of the first layer is kept with
  probability 0.8 and scaled by 1.25, the inputs of the later layers kept with probability 0.5 and
  scaled by 2, i.e. inverted dropout with drop probabilities 0.2 and 0.5
  (:class:`paperzoo.nn.Dropout`). Maxout (Goodfellow et al. 2013): h_i = max_j (x·W_ij + b_ij),
  j over the 5 pieces of unit i.

:class:`Discriminator` returns the *logit* l of D(x) = sigmoid(l), and every loss is written in
terms of logits with softplus, so that log D = −softplus(−l) and log(1 − D) = −softplus(l) stay
finite when D saturates at 0 or 1. :class:`Generator` returns the sigmoid output, the sample itself.

Deviations: none in the MNIST models. ``output="linear"`` (no sigmoid) and other sizes are for the
1-D experiments of Fig. 1. ``gan_discriminator_tiny`` (for tests) has no dropout by default, so the
test suite's one-batch overfit (with the dropout noise on during its loss) can converge; the paper's
dropout is ``input_drop=0.2, hidden_drop=0.5``. The generator is registered without a tiny variant:
its sigmoid output cannot be driven to a small cross-entropy by that test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...nn import Dropout
from ...registry import register_model

__all__ = ["Discriminator", "Generator", "Maxout", "discriminator_loss", "gan_discriminator",
           "gan_discriminator_tiny", "gan_generator", "generator_loss", "optimal_discriminator", "value"]

Noise = Literal["uniform", "gaussian"]
GeneratorLoss = Literal["saturating", "non-saturating"]
SQRT3 = math.sqrt(3.0)


def _uniform_init(layer: nn.Linear, irange: float) -> None:
    """pylearn2's ``irange``: weights U(−irange, irange), biases 0."""
    nn.init.uniform_(layer.weight, -irange, irange)
    nn.init.zeros_(layer.bias)


class Maxout(nn.Module):
    """``units`` maxout units of ``pieces`` affine pieces each: h_i = max_j (W_ij·x + b_ij)."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in)
        z = self.linear(x).view(x.shape[0], self.units, self.pieces)  # (B, units, pieces), piece j of unit i
        return z.amax(-1)  # (B, units): h_i = max_j z_ij


class Generator(nn.Module):
    """G(z; θ_g): ``noise_dim`` noise → ReLU layers of ``hidden`` units → ``out_features`` outputs
    (sigmoid, or linear for data on the real line). ``forward(z)`` returns x = G(z) (B, out_features)."""

    def __init__(self, *, noise_dim: int = 100, hidden: Sequence[int] = (1200, 1200), out_features: int = 784,
                 output: Literal["sigmoid", "linear"] = "sigmoid", noise: Noise = "uniform", irange: float = 0.05):
        super().__init__()
        if output not in ("sigmoid", "linear") or noise not in ("uniform", "gaussian"):
            raise ValueError(f"output must be 'sigmoid' or 'linear' and noise 'uniform' or 'gaussian', got "
                             f"{output!r}, {noise!r}")
        self.noise_dim, self.output, self.noise = noise_dim, output, noise
        widths = [noise_dim, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], out_features)
        for layer in [*self.hidden, self.out]:
            _uniform_init(layer, irange)

    @torch.no_grad()
    def init_output_bias(self, marginals: torch.Tensor, eps: float = 1e-3) -> None:
        """Set the sigmoid layer's bias so that G's output starts at the data's pixel means m:
        b = log(m / (1 − m)), m clipped to [eps, 1 − eps] (mnist.yaml's ``init_sigmoid_bias_from_marginals``)."""
        m = marginals.reshape(-1).to(self.out.bias).clamp(eps, 1 - eps)
        self.out.bias.copy_(torch.log(m) - torch.log1p(-m))

    def sample_noise(self, n: int, *, generator: torch.Generator | None = None,
                     device: torch.device | str | None = None) -> torch.Tensor:
        """n draws of z ~ p_z: U(−√3, √3)^d (zero mean, unit variance) or N(0, I)."""
        device = device if device is not None else self.out.weight.device
        if self.noise == "uniform":
            u = torch.rand(n, self.noise_dim, generator=generator, device=device)
            return (2 * u - 1) * SQRT3  # (n, noise_dim)
        return torch.randn(n, self.noise_dim, generator=generator, device=device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, noise_dim)
        h = z
        for layer in self.hidden:
            h = F.relu(layer(h))  # (B, hidden)
        a = self.out(h)  # (B, out_features)
        return torch.sigmoid(a) if self.output == "sigmoid" else a


class Discriminator(nn.Module):
    """D(x; θ_d): dropout → maxout layers (``units`` × ``pieces``) with dropout between → one logit per
    class (``num_classes`` = 1 for the GAN: the logit l of D(x) = sigmoid(l) = P(x came from the data)).
    Images (B, C, H, W) are flattened. ``forward`` returns logits (B, num_classes)."""

    def __init__(self, *, in_features: int = 784, units: int = 240, pieces: int = 5, layers: int = 2,
                 num_classes: int = 1, input_drop: float = 0.2, hidden_drop: float = 0.5, irange: float = 0.005):
        super().__init__()
        widths = [in_features] + [units] * layers
        self.maxout = nn.ModuleList(Maxout(a, units, pieces) for a in widths[:-1])
        self.drops = nn.ModuleList([Dropout(input_drop)] + [Dropout(hidden_drop) for _ in range(layers)])
        self.out = nn.Linear(widths[-1], num_classes)
        for layer in [*(m.linear for m in self.maxout), self.out]:
            _uniform_init(layer, irange)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_features) or (B, C, H, W)
        h = x.flatten(1)  # (B, in_features)
        for drop, layer in zip(self.drops, self.maxout):
            h = layer(drop(h))  # (B, units)
        return self.out(self.drops[-1](h))  # (B, num_classes): logits


# --- the objective -----------------------------------------------------------------------------------

def value(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The minibatch estimate of V(D, G) (Eq. 1) from D's logits on data and on samples."""
    # Eq. 1: V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))], log D = −softplus(−l), log(1 − D) = −softplus(l)
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """What D minimises: −V(D, G), i.e. Algorithm 1 *ascends* (1/m) Σ [log D(x_i) + log(1 − D(G(z_i)))].
    (The authors' code minimises half of it, ½(BCE on data + BCE on samples): the same direction.)"""
    return -value(real_logits, fake_logits)


def generator_loss(fake_logits: torch.Tensor, kind: GeneratorLoss = "non-saturating") -> torch.Tensor:
    """What G minimises, from D's logits l on G(z): ``"saturating"``: (1/m) Σ log(1 − D(G(z))) (Eq. 1,
    Algorithm 1's descent step), whose gradient in l is −sigmoid(l) = −D, vanishing as D(G(z)) → 0;
    ``"non-saturating"``: −(1/m) Σ log D(G(z)) (Section 3), gradient −(1 − D), largest when D(G(z)) → 0."""
    if kind == "saturating":
        # Algorithm 1: descend ∇θg (1/m) Σ log(1 − D(G(z_i)))
        return -F.softplus(fake_logits).mean()
    if kind == "non-saturating":
        # Section 3: "train G to maximize log D(G(z))"
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"generator loss must be 'saturating' or 'non-saturating', got {kind!r}")


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*_G(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1, Eq. 2), elementwise on densities."""
    # Eq. 2
    return p_data / (p_data + p_g)


# --- registered models -----------------------------------------------------------------------------

def _noise(n: int, dim: int = 100) -> torch.Tensor:
    return (2 * torch.rand(n, dim) - 1) * SQRT3


@register_model(paper="gan", input_size=(100,), num_classes=784, example_input=_noise)
def gan_generator(*, noise_dim: int = 100, hidden: int = 1200, out_features: int = 784,
                  noise: Noise = "uniform") -> Generator:
    """The MNIST generator of Section 5 (100-d noise, ReLU 1200, ReLU 1200, sigmoid 784), 2.5M parameters."""
    return Generator(noise_dim=noise_dim, hidden=(hidden, hidden), out_features=out_features, noise=noise)


@register_model(paper="gan", input_size=(1, 28, 28), num_classes=1)
def gan_discriminator(*, num_classes: int = 1, units: int = 240, pieces: int = 5, input_drop: float = 0.2,
                      hidden_drop: float = 0.5) -> Discriminator:
    """The MNIST discriminator of Section 5 (maxout 240×5, maxout 240×5, one logit; dropout), 1.2M parameters."""
    return Discriminator(in_features=784, units=units, pieces=pieces, num_classes=num_classes,
                         input_drop=input_drop, hidden_drop=hidden_drop)


@register_model(paper="gan", input_size=(1, 28, 28), num_classes=1, tiny=True)
def gan_discriminator_tiny(*, num_classes: int = 1, input_drop: float = 0.0, hidden_drop: float = 0.0
                           ) -> Discriminator:
    """The maxout discriminator with 16 units × 3 pieces per layer (for tests); no dropout by default."""
    return Discriminator(in_features=784, units=16, pieces=3, num_classes=num_classes, input_drop=input_drop,
                         hidden_drop=hidden_drop, irange=0.05)
