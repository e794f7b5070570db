"""The VGG paper's card; its claims are planned (see README.md)."""

from __future__ import annotations

from ...registry import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="vgg",
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Karen Simonyan, Andrew Zisserman",
    year=2014,
    arxiv="1409.1556",
    venue="ICLR 2015",
    problem=("Convolutional networks had improved ImageNet results with many design changes at once (larger "
             "first-layer filters and strides, normalisation, multi-scale testing); how much their depth "
             "matters, with everything else fixed, had not been measured."),
    idea=("Fix the design to stacks of 3x3 convolutions (stride 1, padding 1) and 2x2 max-pooling, and add "
          "depth: configurations A-E with 11 to 19 weight layers. Two 3x3 layers see a 5x5 field and three a "
          "7x7 one, with more non-linearities and fewer parameters than one large filter. Deep nets are "
          "trained from a shallower trained net, with scale jittering, and evaluated densely over the whole "
          "image at several scales; depth lowers the error, to 7.3% top-5 with an ensemble."),
))
