"""Dropout with inverted scaling (Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov 2014).

The paper (JMLR 15, Section 4, Eq. for the training-time network): each unit is *retained*
with probability q = 1 - p, r_j ~ Bernoulli(q), y~ = r * y; at test time the weights are scaled,
W_test = q W, so that the expected input of the next layer is the same as in training.
This module scales at training time instead ("inverted dropout", as torch): y~ = r * y / q, so
E[y~] = y and evaluation is the identity. ``p`` here is the probability of *dropping* a unit
(torch's convention); the paper's p is the probability of *retaining* it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["Dropout", "dropout"]


def dropout(x: torch.Tensor, p: float = 0.5, *, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) when ``training``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0  # every unit dropped (keeps the graph, as torch)
    q = 1.0 - p
    # r_j ~ Bernoulli(q)
    r = torch.empty_like(x).bernoulli_(q, generator=generator)
    # y~ = r * y / q   (inverted: E[y~] = y, so the test-time network needs no rescaling)
    return x * r / q


class Dropout(nn.Module):
    """Inverted dropout of any-shaped input; ``p`` is the drop probability. Identity in eval mode."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
