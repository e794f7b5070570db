"""The GoogLeNet paper's card; its claims are planned (see README.md)."""

from __future__ import annotations

from ...registry import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="googlenet",
    title="Going Deeper with Convolutions",
    authors=("Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, Dragomir Anguelov, "
             "Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich"),
    year=2014,
    arxiv="1409.4842",
    venue="CVPR 2015",
    problem=("Making a network deeper and wider is the surest way to improve it, but a uniformly bigger network "
             "has many more parameters, overfits, and its computation grows quadratically with its width, "
             "much of it wasted on weights that end up near zero."),
    idea=("Approximate a sparse structure with dense building blocks: the Inception module runs 1x1, 3x3 and "
          "5x5 convolutions and a 3x3 max-pool side by side and concatenates them, with 1x1 convolutions "
          "reducing the channels before the expensive filters. Nine modules make a 22-layer network with "
          "about 7 million parameters (12 times fewer than AlexNet) that won ILSVRC 2014; auxiliary "
          "classifiers on intermediate layers add gradient signal and regularisation during training."),
))
