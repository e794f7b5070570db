"""Huang, Liu, van der Maaten, Weinberger (2017). Densely Connected Convolutional Networks. arXiv:1608.06993."""

from . import experiments, model  # noqa: F401  (registers the models and the paper card)
