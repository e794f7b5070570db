"""Szegedy et al. (2015). Going Deeper with Convolutions. arXiv:1409.4842."""

from . import experiments, model  # noqa: F401  (registers the models and the paper card)
