"""Local response normalisation across channels (Krizhevsky, Sutskever, Hinton 2012, Section 3.3).

The paper's Eq. (Section 3.3), for the activity a^i_{x,y} of kernel i at position (x, y) after
the ReLU, with N kernels in the layer:

    b^i_{x,y} = a^i_{x,y} / ( k + alpha * sum_{j = max(0, i - n/2)}^{min(N - 1, i + n/2)} (a^j_{x,y})^2 )^beta

with k = 2, n = 5, alpha = 1e-4, beta = 0.75. The sum runs over n "adjacent" kernel maps at the
same position (n/2 rounded down on each side; channels past either end count as zero).

Conventions differ between libraries, and this module follows the *paper*:

- ``torch.nn.LocalResponseNorm(size, alpha, beta, k)`` (and Caffe's LRN layer) divide alpha by
  the window size: ``k + alpha / n * sum``. The paper's alpha is torch's ``alpha / n``, so this
  module calls ``F.local_response_norm`` with ``alpha * n`` (see :meth:`LocalResponseNorm.torch_alpha`).
- Caffe's reference AlexNet (``bvlc_alexnet``) uses ``local_size=5, alpha=1e-4, beta=0.75`` with
  Caffe's ``alpha / n`` and its default ``k=1``: a paper-convention alpha of 2e-5 and k = 1, not
  the paper's k = 2, alpha = 1e-4.
- cuda-convnet's cross-map ``rnorm`` layer (the code the paper's footnote 3 points to) also
  divides its ``scale`` by the size, with k = 1 (``minDiv``).

For an even n the window is asymmetric: n/2 channels before and n/2 - 1 after (torch's
convention); the paper only uses odd n.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["LocalResponseNorm"]


class LocalResponseNorm(nn.Module):
    """Cross-channel local response normalisation with the paper's alpha (not divided by n).

    Defaults are AlexNet's (Section 3.3): ``size`` n = 5, ``alpha`` = 1e-4, ``beta`` = 0.75,
    ``k`` = 2. Works on (B, C, ...) inputs; no parameters.
    """

    def __init__(self, *, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        if size < 1:
            raise ValueError(f"size must be positive, got {size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    @property
    def torch_alpha(self) -> float:
        """The alpha ``torch.nn.LocalResponseNorm`` needs for the same function: ``alpha * size``."""
        return self.alpha * self.size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        # b^i = a^i / (k + alpha * sum_{j in window(i)} (a^j)^2)^beta; torch averages over the window
        return F.local_response_norm(x, self.size, alpha=self.torch_alpha, beta=self.beta, k=self.k)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
