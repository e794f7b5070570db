"""The DenseNet paper's card; its claims are planned (see README.md)."""

from __future__ import annotations

from ...registry import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="densenet",
    title="Densely Connected Convolutional Networks",
    authors="Gao Huang, Zhuang Liu, Laurens van der Maaten, Kilian Q. Weinberger",
    year=2016,
    arxiv="1608.06993",
    venue="CVPR 2017",
    problem=("Very deep networks train only if information and gradients can skip layers (ResNets, Highway "
             "networks), but summing a layer's output into its input mixes features, and many layers of deep "
             "ResNets contribute little: the networks are larger than they need to be."),
    idea=("Connect every layer of a block to every later one by concatenation, x_l = H_l([x_0, ..., x_{l-1}]) "
          "(Eq. 2): each layer adds only k new feature maps (the growth rate) to a collective state that all "
          "later layers read. Features are reused rather than relearnt, so narrow layers suffice; 1x1 "
          "bottlenecks and compressing transitions (DenseNet-BC) make the nets more compact still, matching "
          "ResNets' accuracy with a fraction of the parameters."),
))
