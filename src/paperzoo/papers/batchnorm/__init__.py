"""Ioffe, Szegedy (2015). Batch Normalization: Accelerating Deep Network Training by Reducing Internal
Covariate Shift. arXiv:1502.03167."""

from . import experiments, model  # noqa: F401  (registers models, the paper card and claims)
