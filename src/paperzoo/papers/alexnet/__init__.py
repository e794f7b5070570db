"""Krizhevsky, Sutskever, Hinton (2012). ImageNet Classification with Deep Convolutional Neural Networks.
NeurIPS 2012."""

from . import experiments, model  # noqa: F401  (registers the models and the paper card)
