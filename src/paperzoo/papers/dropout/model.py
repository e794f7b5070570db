"""The linear model of dropout's Section 9.1, with its inputs dropped out.

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov (2014). *Dropout: A Simple Way to
Prevent Neural Networks from Overfitting*. JMLR 15(56):1929-1958.

f(x) = dropout_p(x)·W + b: :class:`paperzoo.nn.MLP` with no hidden layer and inverted dropout on
its (flattened) input, the bias not dropped. Weights and bias start at zero, so that SGD's path to
the minimiser depends on the data and the masks only (the minimiser, of a strictly convex loss,
does not depend on the start).
"""

from __future__ import annotations

import torch.nn as nn

from ...nn import MLP
from ...registry import register_model

__all__ = ["linear_dropout", "linear_dropout_tiny"]


@register_model(paper="dropout", input_size=(1, 14, 14), num_classes=10)
def linear_dropout(*, in_features: int = 196, num_classes: int = 10, input_dropout: float = 0.0) -> MLP:
    """Section 9.1's linear regression with input dropout (drop probability ``input_dropout``), from zero."""
    model = MLP(in_features=in_features, hidden=(), out_features=num_classes, input_dropout=input_dropout)
    nn.init.zeros_(model.out.weight)
    nn.init.zeros_(model.out.bias)
    return model


@register_model(paper="dropout", input_size=(1, 8, 8), num_classes=10, tiny=True)
def linear_dropout_tiny(*, in_features: int = 64, num_classes: int = 10, input_dropout: float = 0.0) -> MLP:
    """Tiny variant for tests: 64 inputs."""
    return linear_dropout(in_features=in_features, num_classes=num_classes, input_dropout=input_dropout)
