"""The AlexNet paper's card and training recipe; its claims are planned (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...optim import OptimizerConfig
from ...registry import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="alexnet",
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton",
    year=2012,
    arxiv="",
    venue="NeurIPS 2012",
    problem=("Recognising objects among 1000 ImageNet classes from 1.2 million labelled photographs needs a "
             "model with a large capacity and strong priors about images, but big convolutional networks were "
             "too expensive to train on high-resolution images and overfit a training set of that size."),
    idea=("Train a deep convolutional network (five convolutional and three fully connected layers, 60 million "
          "parameters) on raw pixels with a fast two-GPU implementation: non-saturating ReLUs train several "
          "times faster than tanh units, local response normalisation and overlapping max-pooling lower the "
          "error, and label-preserving data augmentation (random crops, reflections, PCA colour noise) and "
          "dropout in the fully connected layers fight overfitting."),
))


@dataclass(frozen=True)
class Recipe:
    """Section 5's training recipe, as the paper states it.

    The paper's update is ``v <- 0.9 v - 0.0005 eps w - eps dL/dw; w <- w + v`` with one learning
    rate eps for all layers; ``torch.optim.SGD`` (momentum 0.9, weight decay 5e-4) computes the
    same steps while eps is constant (its buffer is -v / eps) and rescales the velocity when eps
    changes. The learning rate is divided by 10 "when the validation error rate stopped improving",
    three times in about 90 epochs; when is not stated, so no step schedule is given here.
    """

    batch_size: int = 128
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(
        name="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4))
    lr_factor: float = 0.1     # on a plateau of the validation error
    lr_drops: int = 3          # "reduced three times prior to termination"
    epochs: int = 90           # "roughly 90 cycles through the training set"


PAPER_RECIPE = Recipe()
