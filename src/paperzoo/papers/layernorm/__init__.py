"""Ba, Kiros, Hinton (2016). Layer Normalization. arXiv:1607.06450."""

from . import experiments, model  # noqa: F401  (registers models, the paper card and claims)
